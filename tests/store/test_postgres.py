"""The PostgreSQL store passes the shared contract on a real server, agrees with the embedded
store, keeps concurrent writers from losing updates, and migrates by numbered versions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psycopg
import pytest

from likewise import Engine, Settings
from likewise.errors import ConfigError, StoreError
from likewise.store import EmbeddedStore, Space, Store, StoreInfo, open_store
from likewise.store.postgres import MIGRATIONS, PgConfig, PostgresStore, migrate
from likewise.testing import StoreContract
from likewise.testing.contract import axis, entry
from likewise.tracking import Impression

NEWS = [
    {"id": "space1", "title": "Rocket reaches the moon", "tags": ["space"], "category": "news"},
    {"id": "space2", "title": "Moon rocket launch delayed", "tags": ["space"], "category": "news"},
    {"id": "space3", "title": "Astronauts train for Mars", "tags": ["space"], "category": "blog"},
    {"id": "food1", "title": "Pasta with tomato sauce", "tags": ["food"], "category": "recipes"},
    {"id": "food2", "title": "Tomato pasta bake", "tags": ["food"], "category": "recipes"},
    {"id": "food3", "title": "Pasta salad for summer", "tags": ["food"], "category": "blog"},
]


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def open_store(self, pg_url: str):  # type: ignore[no-untyped-def]
        return lambda: PostgresStore(pg_url)


class TestPostgresStoreThroughHnsw(StoreContract):
    """The same contract with every filtered query sent through HNSW's iterative scan."""

    @pytest.fixture
    def open_store(self, pg_url: str):  # type: ignore[no-untyped-def]
        return lambda: PostgresStore(pg_url, config=PgConfig(exact_below=0))


def _both(tmp_path: Path, pg_url: str, dim: int = 32) -> tuple[Store, Store]:
    info = StoreInfo("congruence", dim)
    stores: tuple[Store, Store] = (EmbeddedStore(tmp_path / "data"), PostgresStore(pg_url))
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(400, dim)).astype(np.float32)
    entries = [
        entry(f"i{k}", vectors[k], bucket=k % 20, tags=[f"t{k % 3}"], price=float(k % 7))
        for k in range(400)
    ]
    for store in stores:
        store.initialize(info)
        store.upsert(entries)
    return stores


def test_exact_search_gives_the_same_ids_and_scores(tmp_path: Path, pg_url: str) -> None:
    embedded, postgres = _both(tmp_path, pg_url)
    rng = np.random.default_rng(9)
    try:
        for where in (
            {"bucket": 3},
            {"bucket": {"in": [1, 2]}, "price": {"lt": 4}},
            {"tags": "t1"},
        ):
            query = rng.normal(size=32).astype(np.float32)
            a = embedded.search(query, n=10, where=where, exclude=["i21"])
            b = postgres.search(query, n=10, where=where, exclude=["i21"])
            assert [h.id for h in a] == [h.id for h in b]
            np.testing.assert_allclose([h.score for h in a], [h.score for h in b], atol=1e-5)
            assert embedded.count(where) == postgres.count(where)
    finally:
        embedded.close()
        postgres.close()


@pytest.mark.parametrize("metric", ["dot", "cosine", "euclidean"])
def test_a_second_space_gives_the_same_answers(tmp_path: Path, pg_url: str, metric: str) -> None:
    embedded, postgres = _both(tmp_path, pg_url)
    rng = np.random.default_rng(4)
    space = Space("behaviour", 5, metric)  # type: ignore[arg-type]
    vectors = {f"i{k}": rng.normal(size=5).astype(np.float32) for k in range(0, 400, 3)}
    try:
        for store in (embedded, postgres):
            store.add_space(space)
            store.put_vectors("behaviour", vectors)
        for where in (None, {"bucket": 3}, {"bucket": {"in": [1, 2]}, "price": {"lt": 4}}):
            query = rng.normal(size=5).astype(np.float32)
            a = embedded.search(query, n=10, where=where, exclude=["i3"], space="behaviour")
            b = postgres.search(query, n=10, where=where, exclude=["i3"], space="behaviour")
            assert len(a) >= 5 and [h.id for h in a] == [h.id for h in b]
            np.testing.assert_allclose([h.score for h in a], [h.score for h in b], atol=1e-4)
        ids = ["i0", "i1", "i3"]
        a_rows, b_rows = (
            embedded.vectors(ids, space="behaviour"),
            postgres.vectors(ids, space="behaviour"),
        )
        assert a_rows.keys() == b_rows.keys() == {"i0", "i3"}
        for i in a_rows:
            np.testing.assert_allclose(a_rows[i], b_rows[i], atol=1e-6)
    finally:
        embedded.close()
        postgres.close()


def test_ann_search_reaches_the_same_recall(tmp_path: Path, pg_url: str) -> None:
    embedded, postgres = _both(tmp_path, pg_url)
    rng = np.random.default_rng(2)
    vectors = embedded.vectors([f"i{k}" for k in range(400)])
    matrix = np.stack(list(vectors.values()))
    ids = list(vectors)
    recall = {"embedded": 0.0, "postgres": 0.0}
    try:
        for _ in range(30):
            query = rng.normal(size=32).astype(np.float32)
            query /= np.linalg.norm(query)
            truth = {ids[k] for k in np.argsort(-(matrix @ query))[:10]}
            for name, store in (("embedded", embedded), ("postgres", postgres)):
                recall[name] += len(truth & {h.id for h in store.search(query, n=10)}) / 300
    finally:
        embedded.close()
        postgres.close()
    assert recall["postgres"] >= 0.98
    assert abs(recall["postgres"] - recall["embedded"]) <= 0.02


def _engine(location: str) -> Engine:
    return Engine.open(location, model="hashing-64", settings=Settings(cache_size=0))


def test_the_engine_gives_the_same_profiles_and_lists(tmp_path: Path, pg_url: str) -> None:
    engines = [_engine(str(tmp_path / "data")), _engine(pg_url)]
    events = [
        ("u1", "space1", "click"),
        ("u1", "space2", "like"),
        ("u1", "food1", "dislike"),
        ("u2", "food2", "purchase"),
        ("u2", "space1", "view"),
    ]
    try:
        for engine in engines:
            engine.add_items(NEWS)
            for k, (user, item, kind) in enumerate(events):
                engine.record(user, item, kind, timestamp=1_700_000_000.0 + k)
        a, b = (e.store.profile("u1") for e in engines)
        assert a is not None and b is not None and a.interest is not None
        np.testing.assert_allclose(a.interest, b.interest, atol=1e-5)
        assert a.recent == b.recent and a.events == b.events
        for strategy in ("mean", "ema", "dislike", "momentum"):
            left, right = (e.recommend("u1", n=3, strategy=strategy) for e in engines)
            assert [r.id for r in left.items] == [r.id for r in right.items]
            np.testing.assert_allclose(
                [r.score for r in left.items], [r.score for r in right.items], atol=1e-5
            )
        assert [h.id for h in engines[0].store.popular(n=4)] == [
            h.id for h in engines[1].store.popular(n=4)
        ]
        assert engines[0].forget_user("u2") == engines[1].forget_user("u2")
    finally:
        for engine in engines:
            engine.close()


def test_two_connections_updating_one_user_lose_nothing(pg_url: str) -> None:
    first = _engine(pg_url)
    first.add_items(NEWS)
    second = _engine(pg_url)  # its own pool: another server, as far as the database knows
    items = [r["id"] for r in NEWS]

    def work(engine: Engine, offset: int) -> None:
        for k in range(60):
            engine.record("u1", items[(k + offset) % 6], "click", timestamp=float(k))

    threads = [threading.Thread(target=work, args=a) for a in ((first, 0), (second, 3))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert first.profile("u1")["events"] == 120
        assert second.stats()["events"] == 120
        online = first.store.profile("u1")
        first.rebuild_profiles()  # the log replayed in order gives the same profile
        again = first.store.profile("u1")
        assert online is not None and again is not None and online.interest is not None
        np.testing.assert_allclose(online.interest, again.interest, atol=1e-5)
    finally:
        first.close()
        second.close()


def test_migrations_run_once_and_refuse_a_newer_schema(pg_url: str) -> None:
    PostgresStore(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert migrate(conn) == []  # already applied
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version")]
        assert versions == sorted(MIGRATIONS)
        conn.execute("INSERT INTO schema_version VALUES (%s, 0)", (max(MIGRATIONS) + 1,))
    with pytest.raises(ConfigError, match="newer than this likewise knows"):
        PostgresStore(pg_url)


def test_a_bad_url_names_the_location_without_its_password() -> None:
    with pytest.raises(StoreError, match="cannot open the store") as info:
        open_store("postgresql://me:secret@127.0.0.1:1/nowhere")
    assert "me:***@127.0.0.1" in str(info.value) and "secret" not in str(info.value)


def test_copy_in_both_directions_keeps_everything(
    tmp_path: Path, new_pg_database: Callable[[], str]
) -> None:
    from likewise.copy import copy_store

    source = _engine(str(tmp_path / "a"))
    source.add_items(NEWS)
    for k, item in enumerate(["space1", "space2", "food1"]):
        source.record("u1", item, "click", timestamp=1_700_000_000.0 + k)
    source.recommend("u1", n=3)
    source.close()
    store = open_store(str(tmp_path / "a"))
    store.add_space(Space("behaviour", 3, "dot"))
    store.put_vectors("behaviour", {"space1": np.array([1.0, 2.0, 3.0], np.float32)})
    store.close()
    there, back = new_pg_database(), str(tmp_path / "b")
    for src, dst in ((str(tmp_path / "a"), there), (there, back)):
        report = copy_store(src, dst)
        assert report.counts["items"] == 6 and report.counts["events"] == 3
        assert report.counts["impressions"] == 1
    original, copied = _engine(str(tmp_path / "a")), _engine(back)
    try:
        assert copied.stats()["items"] == 6
        a, b = original.store.profile("u1"), copied.store.profile("u1")
        assert a is not None and b is not None and a.interest is not None
        np.testing.assert_allclose(a.interest, b.interest, atol=1e-6)
        assert [r.id for r in original.recommend("u1", n=3).items] == [
            r.id for r in copied.recommend("u1", n=3).items
        ]
        assert copied.stats()["spaces"]["behaviour"] == {"dim": 3, "metric": "dot", "vectors": 1}
    finally:
        original.close()
        copied.close()


# Migration 4 undone: profiles keyed by user alone, as likewise 0.1 left them.
UNDO_PROFILE_SPACES = """
ALTER TABLE profiles DROP CONSTRAINT profiles_pkey;
ALTER TABLE profiles DROP COLUMN space;
ALTER TABLE profiles ADD PRIMARY KEY (user_id);
ALTER TABLE profile_history DROP COLUMN space;
CREATE INDEX profile_history_user ON profile_history (user_id, seq);
"""


def test_an_upgrade_from_version_1_fills_the_range_index(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    store.initialize(StoreInfo("upgrade", 8))
    store.upsert(
        [
            entry("old", axis(0), price=[3, 40], published_at="2026-02-01"),
            entry("new", axis(0, 0.2), price=5, published_at="2025-01-01"),
        ]
    )
    store.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:  # as likewise 0.1 left it
        conn.execute("DROP TABLE item_numbers")
        conn.execute("ALTER TABLE impressions DROP COLUMN ms")
        conn.execute(UNDO_PROFILE_SPACES)
        conn.execute("DROP INDEX items_id_c")
        conn.execute("DROP TABLE forgotten")
        conn.execute("DELETE FROM schema_version WHERE version > 1")
    again = PostgresStore(pg_url)
    try:
        assert again.stats()["schema_version"] == max(MIGRATIONS)
        for where, expected in (
            ({"price": {"gt": 10}}, ["old"]),
            ({"price": {"lte": 5}}, ["old", "new"]),
            ({"published_at": {"gte": "2026-01-01"}}, ["old"]),
            (
                {"$or": [{"price": {"gt": 10}}, {"published_at": {"lt": "2025-06-01"}}]},
                ["old", "new"],
            ),
        ):
            assert [h.id for h in again.search(axis(0), n=5, where=where)] == expected
        again.log_impressions([Impression("r", "u", "ema", ["old"], ms=3.0)])
        assert again.activity(0.0).latency_ms == {"ema": [3.0]}
    finally:
        again.close()
