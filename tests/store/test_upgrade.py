"""Stores made by likewise 0.1 (the release before named vector spaces) open and upgrade:
SQLite in place, PostgreSQL by migration 4. The fixtures are dumps of small stores that the
0.1 code wrote (6 items, two users' events and profiles with snapshots, a trained model)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import psycopg
import pytest

from likewise import Engine, Settings
from likewise.errors import StoreError
from likewise.store import Space, open_store
from likewise.store.embedded.schema import SCHEMA_VERSION
from likewise.store.postgres import MIGRATIONS

FIXTURES = Path(__file__).parent / "fixtures"


def _check_upgraded(location: str, schema_version: int) -> None:
    with Engine.open(location, settings=Settings(cache_size=0)) as engine:
        stats = engine.stats()
        assert (stats["items"], stats["events"], stats["profiles"]) == (6, 7, 2)
        assert stats["schema_version"] == schema_version
        assert engine.seen("u1") == ["i0", "i2", "i4", "i1", "i3"] or sorted(engine.seen("u1")) == [
            "i0",
            "i1",
            "i2",
            "i3",
            "i4",
        ]
        profile = engine.profile("u1")
        assert (profile["events"], profile["positives"], profile["negatives"]) == (6, 5, 1)
        assert profile["snapshots_used"] == 3  # every second event took one
        rec = engine.recommend("u1", n=3, strategy="momentum")
        assert rec.strategy == "momentum" and len(rec.items) == 1  # 5 of 6 items are seen
        assert engine.collaborative() is not None  # the trained model is still there
        engine.record("u1", "i5", "like")  # and the upgraded tables take new writes
        assert engine.profile("u1")["events"] == 7
    store = open_store(location)
    try:
        state = store.profile("u2", space="text")
        assert state is not None and state.space == "text" and state.recent == ["i5"]
        store.add_space(Space("behaviour", 2))
        store.put_vectors("behaviour", {"i0": np.ones(2, np.float32)})
        assert [h.id for h in store.search(np.ones(2, np.float32), n=3, space="behaviour")] == [
            "i0"
        ]
    finally:
        store.close()


def test_an_embedded_store_from_0_1_is_upgraded_in_place(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    with sqlite3.connect(folder / "likewise.db") as db:
        db.executescript((FIXTURES / "embedded-0.1.sql").read_text())
    _check_upgraded(str(folder), SCHEMA_VERSION)
    with sqlite3.connect(folder / "likewise.db") as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),
        )
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert not {"profiles_v1", "profile_history_v1"} & tables
        indexes = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' "
            "AND name LIKE 'events_user%'"
        ).fetchall()  # version 3: one index by user, in time order, in place of two
        assert indexes == [
            ("events_user", "CREATE INDEX events_user ON events(user_id, ts, item_id)")
        ]


def test_an_embedded_store_from_a_newer_likewise_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    with sqlite3.connect(folder / "likewise.db") as db:
        db.executescript((FIXTURES / "embedded-0.1.sql").read_text())
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer than this likewise"):
        open_store(str(folder))


def test_a_postgres_store_from_0_1_is_upgraded_by_migration(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute((FIXTURES / "postgres-0.1.sql").read_text().encode())
        conn.execute("SELECT pg_catalog.set_config('search_path', 'public', false)")
        assert max(r[0] for r in conn.execute("SELECT version FROM schema_version")) == 3
    _check_upgraded(pg_url, max(MIGRATIONS))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events' "
            "AND indexname LIKE 'events_user%'"
        ).fetchall()  # migration 11: one index by user, in time order, in place of two
    assert [(name, d.split(" USING ")[1]) for name, d in indexes] == [
        ("events_user", "btree (user_id, ts, item_id)")
    ]


def test_a_new_embedded_store_has_the_one_index_by_user(tmp_path: Path) -> None:
    open_store(str(tmp_path / "data")).close()
    with sqlite3.connect(tmp_path / "data" / "likewise.db") as db:
        names = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' "
            "AND sql IS NOT NULL ORDER BY name"
        ).fetchall()
    assert names == [("events_recommendation",), ("events_user",)]
