"""`likewise serve --train-every`: a real server retrains in a child process and swaps to the
new model while it keeps answering; lists in the behaviour space over HTTP."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
from tests.service.test_http_soak import free_port, start
from tests.test_training import ITEMS, _events

from likewise import Engine


def test_a_server_retrains_on_a_schedule_and_swaps_models(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Engine.open(str(data), model="hashing-64") as engine:
        engine.add_items(ITEMS)
        engine.record_many(_events())
    port = free_port()
    os.environ["LIKEWISE_RELOAD_SECONDS"] = "0.2"
    try:
        server = start(data, port, "--train-every", "1")
    finally:
        del os.environ["LIKEWISE_RELOAD_SECONDS"]
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            before = http.get("/v1/users/u0/recommendations", params={"space": "behaviour"})
            assert before.status_code == 409 and before.json()["error"]["field"] == "space"
            versions: set[str] = set()
            answered = 0
            deadline = time.monotonic() + 90
            while len(versions) < 2 and time.monotonic() < deadline:
                model = http.get("/v1/stats").json()["trained"]
                if model is not None:
                    versions.add(model["version"])
                got = http.get("/v1/users/u0/recommendations", params={"n": 3})
                assert got.status_code == 200  # never blocked or broken by a retrain
                answered += 1
                time.sleep(0.05)
            assert len(versions) >= 2, (tmp_path / "server.log").read_text()
            assert answered > 20
            rec = http.get(
                "/v1/users/new/recommendations", params={"space": "behaviour", "strategy": "ema"}
            )
            assert rec.status_code == 200
            http.post(
                "/v1/events",
                json={"user_id": "new", "item_id": "p3", "type": "like", "timestamp": 5},
            ).raise_for_status()
            rec = http.get(
                "/v1/users/new/recommendations",
                params={"space": "behaviour", "strategy": "ema", "n": 1},
            )
            assert [i["id"] for i in rec.json()["items"]] == ["q3"]
            related = http.get("/v1/items/p2/similar", params={"n": 1}).json()
            assert [h["id"] for h in related["items"]] == ["q2"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "retrained in" in (tmp_path / "server.log").read_text()
