"""Popularity counts events in folds (`store.sql.activity.fold`): while recording once
FOLD_AT are waiting, and before any read or copy of it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from likewise.copy import copy_store
from likewise.store import EmbeddedStore, Store, open_store
from likewise.store.sql import activity
from likewise.testing.activity import counting, event
from likewise.testing.contract import INFO
from likewise.testing.values import axis, entry


def _counted(folder: Path) -> list[tuple[str, float]]:
    """The popularity rows as stored, read past the store (no fold first)."""
    with sqlite3.connect(folder / "likewise.db") as db:
        return db.execute("SELECT item_id, score FROM popularity ORDER BY item_id").fetchall()


@contextmanager
def _folding_at_3(folder: Path, monkeypatch: pytest.MonkeyPatch, look: int) -> Iterator[Store]:
    """A store of items a and b that folds once 3 events wait, looked at every `look`-th
    event recorded alone."""
    monkeypatch.setattr(activity, "FOLD_AT", 3)
    monkeypatch.setattr(activity, "FOLD_LOOK", look)
    store = EmbeddedStore(folder)
    try:
        store.initialize(INFO)
        store.upsert([entry("a", axis(0)), entry("b", axis(1))])
        yield store
    finally:
        store.close()


def test_recording_counts_popularity_itself_once_enough_events_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _folding_at_3(tmp_path, monkeypatch, look=1) as store:
        store.record([event("u", "a"), event("u", "b")], [1.0, 1.0], counting)
        assert _counted(tmp_path) == []  # two waiting: counted at the next read
        store.record([event("v", "a")], [2.0], counting)
        assert _counted(tmp_path) == [("a", 3.0), ("b", 1.0)]


def test_events_recorded_alone_look_at_the_count_every_fold_look_th_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _folding_at_3(tmp_path, monkeypatch, look=4) as store:
        for user in ("u", "v", "w"):
            store.record([event(user, "a")], [1.0], counting)
        assert _counted(tmp_path) == []  # three wait, but the third did not look
        store.record([event("x", "a")], [1.0], counting)  # the fourth looks: counted
        assert _counted(tmp_path) == [("a", 4.0)]
        assert store.popular(n=1)[0].score == 4.0


def test_a_copy_counts_the_events_not_yet_counted_once(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "from"))
    try:
        store.initialize(INFO)
        store.upsert([entry("a", axis(0)), entry("b", axis(1))])
        store.record([event("u", "a"), event("u", "b")], [1.0, 1.0], counting)
        assert store.popular(n=1)[0].score == 1.0  # counted
        store.record([event("v", "b"), event("w", "b")], [1.0, 1.0], counting)  # not yet
    finally:
        store.close()
    copy_store(str(tmp_path / "from"), str(tmp_path / "to"))
    for folder in ("from", "to"):
        store = open_store(str(tmp_path / folder))
        try:
            assert [(h.id, h.score) for h in store.popular(n=2)] == [("b", 3.0), ("a", 1.0)]
        finally:
            store.close()
