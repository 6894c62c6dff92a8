"""Cached lists shared across servers: two `likewise serve` processes on one PostgreSQL
database, each caching its lists for an hour and checking for a newer model once an hour, so
only the LISTEN/NOTIFY of a write can make the other server's next answer reflect it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
from tests.service.test_http_soak import free_port, start
from tests.test_training import ITEMS, _events

from likewise import Engine
from likewise.store.postgres import PostgresStore
from likewise.store.postgres.notify import Change

DEADLINE = 10.0  # seconds: generous; the invalidation itself takes milliseconds


@pytest.fixture(scope="module")
def servers(
    pg_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[httpx.Client, httpx.Client, str]]:
    """Two servers on one new database, shared by this module's tests (each starts in ~5 s)."""
    name = f"likewise_inval_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(pg_server)._replace(path=f"/{name}"))
    try:
        with two_servers(url, tmp_path_factory.mktemp("servers")) as (a, b):
            yield a, b, url
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def two_servers(location: str, logs: Path) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """The test catalog with some events at `location`, and two `likewise serve` processes
    on it that cache their lists and look for a newer model only once an hour."""
    with Engine.open(location, model="hashing-64") as engine:
        engine.add_items(ITEMS)
        engine.record_many(_events(10))
    ports = free_port(), free_port()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LIKEWISE_CACHE_SECONDS", "3600")
        env.setenv("LIKEWISE_RELOAD_SECONDS", "3600")
        procs = [start(location, port, log=logs / f"{port}.log") for port in ports]
    try:
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", timeout=30) as a,
            httpx.Client(base_url=f"http://127.0.0.1:{ports[1]}", timeout=30) as b,
        ):
            yield a, b
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)


def _until(read: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    """`read()` again until `done` says yes, for at most DEADLINE seconds; the last answer."""
    deadline = time.monotonic() + DEADLINE
    while True:
        got = read()
        if done(got) or time.monotonic() > deadline:
            return got
        time.sleep(0.02)


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [hit["id"] for hit in response.json()["items"]]


def event_restales(a: httpx.Client, b: httpx.Client) -> None:
    """A user's event through `a` drops their list from `b`'s cache (b holds it an hour)."""
    recs = "/v1/users/u0/recommendations"
    before = _ids(b.get(recs, params={"n": 5}))
    assert b.get(recs, params={"n": 5}).json()["cached"] is True  # b holds it for an hour
    target = before[0]
    event = {"user_id": "u0", "item_id": target, "type": "click"}
    assert a.post("/v1/events", json=[event]).status_code in (200, 202)
    after = _until(lambda: _ids(b.get(recs, params={"n": 5})), lambda ids: target not in ids)
    assert target not in after  # seen now: left out of b's list, not served from its cache


def delete_restales(a: httpx.Client, b: httpx.Client) -> None:
    """An item deleted through `a` leaves `b`'s cached related items."""
    similar = "/v1/items/p0/similar"
    before = _ids(b.get(similar, params={"n": 3}))
    assert _ids(b.get(similar, params={"n": 3})) == before  # the second from b's cache
    gone = before[0]
    assert a.delete(f"/v1/items/{gone}").status_code == 204
    after = _until(lambda: _ids(b.get(similar, params={"n": 3})), lambda ids: gone not in ids)
    assert gone not in after


def trained_elsewhere_is_served(b: httpx.Client, location: str) -> None:
    """A model another process trains on `location` is served by `b` at once."""
    assert b.get("/v1/stats").json()["trained"] is None
    with Engine.open(location) as trainer:
        version = trainer.train()["version"]
    stats = _until(lambda: b.get("/v1/stats").json(), lambda s: s["trained"] is not None)
    assert stats["trained"] is not None and stats["trained"]["version"] == version


def test_a_users_event_on_one_server_restales_their_list_on_the_other(
    servers: tuple[httpx.Client, httpx.Client, str],
) -> None:
    event_restales(*servers[:2])


def test_a_catalog_change_on_one_server_restales_related_items_on_the_other(
    servers: tuple[httpx.Client, httpx.Client, str],
) -> None:
    delete_restales(*servers[:2])


def test_a_model_trained_elsewhere_is_served_at_once(
    servers: tuple[httpx.Client, httpx.Client, str],
) -> None:
    trained_elsewhere_is_served(servers[1], servers[2])


def _heard(changes: list[Change], want: Callable[[Change], bool]) -> bool:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if any(want(c) for c in list(changes)):
            return True
        time.sleep(0.01)
    return False


def test_what_each_write_tells_the_other_stores_and_a_lost_listener_reconnects(
    pg_url: str,
) -> None:
    with Engine.open(pg_url, model="hashing-64") as setup:
        setup.add_items(ITEMS)
    listener = PostgresStore(pg_url)
    changes: list[Change] = []
    listener.subscribe(changes.append)
    writer = Engine.open(pg_url, model="hashing-64")
    try:
        writer.record("u1", "p0", "like")
        assert _heard(changes, lambda c: c.users == {"u1"} and not c.model)
        writer.add_items([{"id": "new", "title": "rocket new"}])
        assert _heard(changes, lambda c: c.users is None)
        writer.record("u0", "p0", "like")  # told in commit order: all before it is heard
        assert _heard(changes, lambda c: c.users == {"u0"})
        changes.clear()
        assert listener.delete(["new"]) == 1  # its own write is not told back to it
        writer.record("u2", "p1", "like")
        assert _heard(changes, lambda c: c.users == {"u2"})
        assert changes == [Change(frozenset({"u2"}))]
        writer.train()
        assert _heard(changes, lambda c: c.model)
        changes.clear()
        with psycopg.connect(pg_url, autocommit=True) as conn:  # the listener's connection dies
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                "datname = current_database() AND query LIKE 'LISTEN%'"
            ).fetchall()
        assert len(killed) == 2  # the listener's, and the writing engine's own
        assert _heard(changes, lambda c: c.users is None)  # back: everything may have changed
        writer.record("u3", "p2", "like")
        assert _heard(changes, lambda c: c.users == {"u3"})  # and listening again
    finally:
        writer.close()
        listener.close()
