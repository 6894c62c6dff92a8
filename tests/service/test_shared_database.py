"""Stateless servers over one PostgreSQL database: two `likewise serve` processes (one with
two workers) see each other's writes at once."""

from __future__ import annotations

from pathlib import Path

import httpx
from tests.service.conftest import CATALOG
from tests.service.test_http_soak import free_port, start

from likewise import Engine


def test_two_servers_share_one_database(pg_url: str, tmp_path: Path) -> None:
    with Engine.open(pg_url, model="hashing-64") as engine:
        engine.add_items(CATALOG)
    ports = free_port(), free_port()
    servers = [
        start(pg_url, ports[0], "--workers", "2", log=tmp_path / "a.log"),
        start(pg_url, ports[1], log=tmp_path / "b.log"),
    ]
    try:
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", timeout=30) as a,
            httpx.Client(base_url=f"http://127.0.0.1:{ports[1]}", timeout=30) as b,
        ):
            _share(a, b)
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(timeout=30)


def _share(a: httpx.Client, b: httpx.Client) -> None:
    """Writes through one server are read through the other (and both workers of a)."""
    item = {"title": "Deep sea robots map the ocean floor", "category": "science"}
    assert b.put("/v1/items/new1", json=item).status_code in (200, 201)
    for _ in range(6):  # answered by either worker of server a
        assert a.get("/v1/items/new1").json()["title"] == item["title"]
    first = CATALOG[0]["id"]
    events = [{"user_id": "u1", "item_id": first, "type": "click"} for _ in range(3)]
    assert a.post("/v1/events", json=events).status_code in (200, 202)
    assert b.get("/v1/users/u1/profile").json()["events"] == 3
    recs = b.get("/v1/users/u1/recommendations", params={"n": 3}).json()
    assert recs["strategy"] != "popular" and first not in [r["id"] for r in recs["items"]]
    assert b.delete("/v1/items/new1").status_code == 204
    for _ in range(6):
        assert a.get("/v1/items/new1").status_code == 404
