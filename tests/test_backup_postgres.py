"""`likewise backup` and `likewise restore` of a PostgreSQL store: one snapshot while a real
server writes, restored into PostgreSQL and into an embedded store, each answering as its
source did; an occupied database is replaced only with force, in one transaction."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.test_backup import (
    CATALOG,
    USERS,
    answers,
    assert_same,
    check_restored,
    event_ids,
    fill,
    leftovers,
    rows,
    streaming,
    tamper_counts,
)
from tests.test_backup_presence import killed

from likewise import Engine
from likewise.backup import backup_store, restore_store
from likewise.backup import postgres as backup_postgres
from likewise.errors import InvalidInput, StoreError
from likewise.store import open_store


def test_postgres_backup_while_a_server_writes(
    tmp_path: Path, new_pg_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, into = new_pg_database(), new_pg_database()
    fill(source, train=False)
    with streaming(source, tmp_path / "server.log") as stream:
        copy = backup_postgres.copy_between

        def after_the_snapshot(*args: Any, **kwargs: Any) -> Any:
            stream.phase = 1  # the read transaction has read: its snapshot is taken
            stream.wait(1)
            return copy(*args, **kwargs)

        monkeypatch.setattr(backup_postgres, "copy_between", after_the_snapshot)
        before = stream.ids()
        manifest = backup_store(source, tmp_path / "bk")
    assert manifest.backend == "postgres"
    restore_store(tmp_path / "bk", into)
    restore_store(tmp_path / "bk", str(tmp_path / "embedded"))
    for restored in (into, str(tmp_path / "embedded")):
        check_restored(restored, source, stream, before)
        assert manifest.counts["events"] == len(event_ids(restored))


def test_postgres_round_trip_into_postgres_and_embedded(
    tmp_path: Path, new_pg_database: Callable[[], str]
) -> None:
    source, into, other = new_pg_database(), new_pg_database(), new_pg_database()
    fill(source)
    manifest = backup_store(source, tmp_path / "bk")
    assert manifest.counts == {"items": 18, "events": 60, "users": len(USERS), "impressions": 0}
    restore_store(tmp_path / "bk", into)
    restore_store(tmp_path / "bk", str(tmp_path / "embedded"))
    expected = answers(source)
    assert_same(answers(into), expected)
    assert_same(answers(str(tmp_path / "embedded")), expected)

    # A database that holds a store is refused, then replaced only with force; a failed
    # restore (counts that the copy does not reach) rolls back and leaves it as it was.
    with Engine.open(other, model="hashing-64") as engine:
        engine.add_items(CATALOG[:2])
        engine.add_space("image", 3)  # a space the backup lacks: it goes with the old store
        engine.record("x1", "space0", "click")
    with pytest.raises(InvalidInput, match="not empty") as refused:
        restore_store(tmp_path / "bk", other)
    assert refused.value.field == "data"
    wrong = tamper_counts(tmp_path / "bk", tmp_path / "wrong")
    with pytest.raises(StoreError, match="where the manifest says"):
        restore_store(wrong, other, force=True)
    assert len(rows(other, "events")) == 1 and "image" in open_spaces(other)
    store = open_store(other)
    try:  # its popularity too (the event is counted at this first read of it)
        assert [h.id for h in store.popular(n=1)] == ["space0"]
    finally:
        store.close()
    restore_store(tmp_path / "bk", other, force=True)
    assert_same(answers(other), expected)
    assert "image" not in open_spaces(other)


def open_spaces(location: str) -> set[str]:
    store = open_store(location)
    try:
        return set(store.spaces())
    finally:
        store.close()


def test_a_postgres_restore_killed_while_staging_leaves_nothing_in_tmp(
    tmp_path: Path, new_pg_database: Callable[[], str], caplog: pytest.LogCaptureFixture
) -> None:
    """The backup is checked into a work folder beside it, not into $TMPDIR: one left by a
    restore killed part way is found and removed by the next restore from that backup."""
    fill(str(tmp_path / "data"), events=20, train=False)
    backup_store(str(tmp_path / "data"), tmp_path / "bk")
    url = new_pg_database()
    temp = set(Path(tempfile.gettempdir()).glob("likewise-restore-*"))
    killed("copying", "restore", tmp_path / "bk", url)
    assert [n.split("-")[0] for n in leftovers(tmp_path)] == [".bk.restore"]
    assert set(Path(tempfile.gettempdir()).glob("likewise-restore-*")) == temp
    assert event_ids(url) == set()
    with caplog.at_level(logging.WARNING):
        restore_store(tmp_path / "bk", url)
    assert "left by a backup or restore that was stopped" in caplog.text
    assert leftovers(tmp_path) == [] and event_ids(url) == event_ids(str(tmp_path / "data"))
