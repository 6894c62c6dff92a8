"""A deleted tenant's digest jobs go with it: on PostgreSQL their files live outside the
store (under the system's temporary folder, named by the store's location), and a tenant
made again under the same name must not find the old one's jobs and rows."""

from __future__ import annotations

import time
from typing import Any

import pytest

from likewise import Engine, Settings
from likewise.engine.tenants import Tenants
from likewise.errors import NotFound


def _done(engine: Engine, job: dict[str, Any]) -> None:
    deadline = time.monotonic() + 60  # a bound on a hang, not a measure
    while engine.digest_job(job["id"])["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert engine.digest_job(job["id"])["status"] == "done"


def test_a_deleted_tenants_digest_jobs_are_gone(location: str) -> None:
    settings = Settings(data=location, model="hashing-64")
    with Engine.open(location, settings=settings) as default:
        tenants = Tenants(default, settings)
        try:
            tenants.create("a")
            engine = tenants.engine("a")
            engine.add_items([{"id": f"i{k}", "title": f"rocket moon {k}"} for k in range(20)])
            engine.record("u1", "i1", "like")
            job = engine.start_digest("weekly", 3)
            _done(engine, job)
            folder = engine._jobs_folder()
            assert b"u1" in b"".join(engine.digest_rows(job["id"]))
            tenants.delete("a")
            assert not folder.exists() or not any(folder.iterdir())
            tenants.create("a")
            again = tenants.engine("a")
            with pytest.raises(NotFound):
                again.digest_job(job["id"])
        finally:
            for name in tenants.names():
                tenants.delete(name)
            tenants.close()
