"""Pushes a tenant's feed queued and a crash left unapplied are applied by the next server
once the tenant is used, as the default tenant's are at startup, not only after another
push to that tenant."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from likewise import Engine, Settings
from likewise.engine.tenants import Tenants
from likewise.service import create_app


def test_a_tenants_pushes_left_by_a_crash_are_applied(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    settings = Settings(data=data, model="hashing-64", feed_poll_seconds=0.2)
    with Engine.open(data, settings=settings) as default:
        tenants = Tenants(default, settings)
        tenants.create("a")
        queued = tenants.engine("a").push_feed([{"id": "x1", "title": "rocket moon"}])
        assert queued.queued == 1  # and no worker applied it: the server "crashed"
        tenants.close()
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 30  # a bound on a hang, not a measure
        state = client.get("/v1/t/a/feed").json()
        while state["pending"] and time.monotonic() < deadline:
            time.sleep(0.05)
            state = client.get("/v1/t/a/feed").json()
        assert state["pending"] == 0 and state["done"] == 1, state
        assert client.get("/v1/t/a/items/x1").status_code == 200
