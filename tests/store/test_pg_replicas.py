"""Reads on a real streaming replica (`tests/store/replica.py`): they go there, a writer's
own reads see their writes, and a replica that dies mid-traffic fails no request.

Pausing the replica's replay makes where a read went visible without any timing: the replica
then lacks whatever the primary commits after, so a read that finds it went to the primary.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from tests.store.replica import Replica

from likewise import Engine, Settings
from likewise.cli.main import main
from likewise.errors import ConfigError
from likewise.items import Item
from likewise.store import Entry, StoreInfo, open_store
from likewise.store.postgres import PostgresStore
from likewise.store.postgres.search import PgConfig

DIM = 8
ITEMS = [{"id": f"i{k}", "title": f"rocket launch {k}", "tags": ["space"]} for k in range(6)] + [
    {"id": f"f{k}", "title": f"tomato pasta {k}", "tags": ["food"]} for k in range(6)
]


@pytest.fixture(scope="module")
def replica(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replica]:
    """A replica of the test server for this module (stopped after it: it would replay
    every later test's writes)."""
    made = Replica(pg_server, tmp_path_factory.mktemp("replica"))
    yield made
    made.remove()


def _entry(k: int) -> Entry:
    vector = np.random.default_rng(k).standard_normal(DIM).astype(np.float32)
    return Entry(Item(id=f"x{k}"), "h", vector)


def test_reads_go_to_the_replica_and_a_writers_reads_wait_for_its_writes(
    pg_url: str, replica: Replica
) -> None:
    reader = PostgresStore(pg_url, read_urls=[replica.of(pg_url)])
    reader.initialize(StoreInfo("m", DIM))
    other = PostgresStore(pg_url)  # another server, not listening: it writes unseen
    try:
        reader.upsert([_entry(0)])
        replica.catch_up()
        replica.pause()
        try:
            other.upsert([_entry(1)])  # on the primary only
            assert [i.id for i in other.get(["x1"])] == ["x1"]
            assert reader.get(["x1"]) == []  # read on the replica, which lacks it
            assert reader.count() == 1
            reader.upsert([_entry(2)])  # its own write: its reads wait for it
            assert [i.id for i in reader.get(["x1", "x2"])] == ["x1", "x2"]
            assert reader.count() == 3  # so they went to the primary
        finally:
            replica.pause(False)
        replica.catch_up()
        replica.pause()  # caught up: reads are the replica's again
        try:
            other.upsert([_entry(3)])
            assert reader.get(["x3"]) == []
            hits = reader.search(_entry(3).vector, n=4)  # type: ignore[arg-type]
            assert "x3" not in [h.id for h in hits] and len(hits) == 3
        finally:
            replica.pause(False)
    finally:
        reader.close()
        other.close()


def test_a_replica_whose_connections_are_all_busy_stays_in(pg_url: str, replica: Replica) -> None:
    """Reads beyond `pool_max` go elsewhere for the moment; the replica is not left out (it
    was, once, for a second at a time: every busy pool looked like a dead replica)."""
    reader = PostgresStore(pg_url, config=PgConfig(pool_max=2), read_urls=[replica.of(pg_url)])
    reader.initialize(StoreInfo("m", DIM))
    other = PostgresStore(pg_url)
    pool = reader._router.replicas[0].pool
    try:
        reader.upsert([_entry(10)])
        replica.catch_up()
        replica.pause()
        try:
            other.upsert([_entry(11)])  # on the primary only
            lent = [pool.getconn(), pool.getconn()]  # every connection busy elsewhere
            try:
                assert [i.id for i in reader.get(["x11"])] == ["x11"]  # so: the primary's
            finally:
                for conn in lent:
                    pool.putconn(conn)
            assert not reader._router.replicas[0].out
            assert reader.get(["x11"]) == []  # the replica's again, at once
        finally:
            replica.pause(False)
    finally:
        reader.close()
        other.close()


def _engine(url: str, replica: Replica) -> Engine:
    settings = Settings(pg_read_urls=replica.of(url), cache_seconds=3600)
    return Engine.open(url, model="hashing-64", settings=settings)


def test_a_users_next_list_reflects_their_event_on_any_server(
    pg_url: str, replica: Replica
) -> None:
    with Engine.open(pg_url, model="hashing-64") as setup:
        setup.add_items(ITEMS)
    replica.catch_up()
    a, b = _engine(pg_url, replica), _engine(pg_url, replica)
    try:
        assert b.recommend("u1", n=3).strategy == "popular"  # cached by b for an hour
        replica.pause()  # from here the replica never has u1's events
        try:
            assert a.record("u1", "i0", "like")
            mine = a.recommend("u1", n=3)  # the server that wrote
            assert mine.strategy != "popular" and "i0" not in [r.id for r in mine.items]
            deadline = time.monotonic() + 10  # b hears of the event, then reads the primary
            while time.monotonic() < deadline:
                theirs = b.recommend("u1", n=3)
                if theirs.strategy != "popular":
                    break
                time.sleep(0.02)
            assert theirs.strategy != "popular" and "i0" not in [r.id for r in theirs.items]
            assert [r.id for r in theirs.items] == [r.id for r in mine.items]
        finally:
            replica.pause(False)
    finally:
        a.close()
        b.close()


def test_a_replica_killed_mid_traffic_fails_no_request_and_comes_back(
    pg_url: str, replica: Replica
) -> None:
    with Engine.open(pg_url, model="hashing-64") as setup:
        setup.add_items(ITEMS)
        for k in range(20):
            setup.record(f"u{k}", ITEMS[k % len(ITEMS)]["id"], "like")
    replica.catch_up()
    engine = Engine.open(
        pg_url, model="hashing-64", settings=Settings(pg_read_urls=replica.of(pg_url), cache_size=0)
    )
    errors: list[BaseException] = []
    served = [0, 0, 0, 0]  # per worker: no shared counter to race on
    half = threading.Event()

    def traffic(worker: int) -> None:
        for k in range(150):  # bounded: 4 x 150 requests
            try:
                engine.recommend(f"u{(worker + k) % 20}", n=3, track=False)
                engine.search("rocket", n=3)
                served[worker] += 1
            except BaseException as exc:
                errors.append(exc)
            if sum(served) > 100:
                half.set()

    threads = [threading.Thread(target=traffic, args=(w,)) for w in range(4)]
    try:
        for thread in threads:
            thread.start()
        assert half.wait(120)
        replica.kill()
        for thread in threads:
            thread.join(300)
        assert errors == []
        assert sum(served) == 600
        router = engine.store._router  # type: ignore[attr-defined]
        assert router.replicas[0].out  # it was in use, and is left out now
        replica.start()
        deadline = time.monotonic() + 30
        while router.replicas[0].out and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not router.replicas[0].out  # the probe let it back
        engine.search("rocket", n=3)  # on the replica again: its connection stays pooled
        with psycopg.connect(replica.of(pg_url), autocommit=True) as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            ).fetchone()
        assert row is not None and row[0] >= 1
    finally:
        engine.close()


def test_read_replicas_need_a_postgres_store(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pg_read_urls"):
        open_store(str(tmp_path / "d"), read_urls=["postgresql://127.0.0.1/x"])
    with pytest.raises(ConfigError, match="pg_read_urls: URL 2"):
        Settings(pg_read_urls="postgresql://a/b, http://c/d")


def test_likewise_config_shows_the_replicas_without_their_passwords(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = "postgresql://u:secret1@h1/db, postgresql://v:secret2@h2/db"
    monkeypatch.setenv("LIKEWISE_PG_READ_URLS", urls)
    assert main(["--data", str(tmp_path), "config"]) == 0
    out = capsys.readouterr().out
    shown = "postgresql://u:***@h1/db, postgresql://v:***@h2/db"
    assert f'pg_read_urls = "{shown}"   (env LIKEWISE_PG_READ_URLS)' in out.splitlines()
    assert "secret" not in out
    assert Settings().store.read_urls() == [
        "postgresql://u:secret1@h1/db",
        "postgresql://v:secret2@h2/db",
    ]
