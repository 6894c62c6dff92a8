"""The embedded store's batched upsert: written as the entries one by one would be, and the
writer's index takes the rows it wrote instead of reading them back."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from likewise.errors import InvalidInput
from likewise.filters import Filter, parse_where
from likewise.store import EmbeddedStore, Entry, Space, StoreInfo
from likewise.store.embedded import catalog
from likewise.store.embedded.ann import AnnConfig
from likewise.store.embedded.connection import transaction
from likewise.store.embedded.written import Written
from likewise.testing.values import DIM, INFO, axis, entry


def _rows(path: Path) -> dict[str, list[Any]]:
    """Every catalog row the writes leave (updated_at aside: a clock)."""
    db = sqlite3.connect(path / "likewise.db")
    try:
        return {
            "items": db.execute(
                "SELECT id, label, content_hash, record_hash, record FROM items ORDER BY id"
            ).fetchall(),
            "vectors": db.execute("SELECT * FROM vectors ORDER BY label").fetchall(),
            "kills": db.execute("SELECT * FROM kills ORDER BY seq").fetchall(),
            "vectors_b": db.execute("SELECT * FROM vectors_b ORDER BY label").fetchall(),
            "kills_b": db.execute("SELECT * FROM kills_b ORDER BY seq").fetchall(),
        }
    finally:
        db.close()


def _state(store: EmbeddedStore) -> dict[str, Any]:
    """What the in-memory indexes hold of each space."""
    out: dict[str, Any] = {}
    for name, index in store._spaces.items():
        size, alive = index.index.size, index.index.alive  # a dead label's columns are unread
        out[name] = {
            "ids": list(index.ids),
            "label_of": dict(index.label_of),
            "alive": index.index.alive.tolist(),
            "vectors": index.index.rows(sorted(index.label_of.values())).tolist(),
            "titles": [t for label, t in enumerate(index.titles) if index.index.alive[label]],
            "kind": (index.columns.mask(_parse({"kind": "x"}), size) & alive).tolist(),
            "n": (index.columns.mask(_parse({"n": {"gte": 2}}), size) & alive).tolist(),
        }
    return out


def _parse(where: dict[str, Any]) -> Filter:
    node = parse_where(where)
    assert node is not None
    return node


def _writes() -> list[list[Entry]]:
    """Upserts that repeat ids in one call, keep vectors (None), change metadata."""
    return [
        [entry(f"i{k}", axis(k), kind="x" if k % 2 else "y", n=k) for k in range(6)],
        [
            entry("i1", axis(1, 0.3), kind="y"),  # a new vector and new metadata
            entry("new", axis(7), kind="x"),
            entry("i1", None, kind="x", n=5),  # the same id again: keeps the vector above
            entry("i2", None, title="again"),  # keeps its vector
            entry("new", axis(6), n=3),
            entry("i1", axis(2, 0.5)),
        ],
    ]


def _store(path: Path) -> EmbeddedStore:
    store = EmbeddedStore(path)
    store.initialize(INFO)
    store.add_space(Space("b", DIM, "cosine"))
    return store


@pytest.mark.parametrize(
    ("batch", "hand_over"),
    [
        pytest.param(catalog.BATCH, catalog.HAND_OVER, id="one-batch"),
        pytest.param(2, 3, id="batches-of-two-read-back"),
    ],
)
def test_an_upsert_is_written_as_its_entries_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int, hand_over: int
) -> None:
    monkeypatch.setattr(catalog, "BATCH", batch)
    monkeypatch.setattr(catalog, "HAND_OVER", hand_over)
    batched, single = _store(tmp_path / "batched"), _store(tmp_path / "single")
    for entries in _writes():
        batched.upsert(entries)
        for one in entries:
            single.upsert([one])
        batched.put_vectors("b", {"i3": axis(3), "i1": axis(4)})
        single.put_vectors("b", {"i3": axis(3), "i1": axis(4)})
    assert _state(batched) == _state(single)
    batched.close()
    single.close()
    batched_rows, single_rows = _rows(tmp_path / "batched"), _rows(tmp_path / "single")
    assert batched_rows == single_rows
    assert len(batched_rows["kills"]) == 5  # each repeat of an id retires the label before


@pytest.mark.parametrize(
    ("entries", "named"),
    [
        pytest.param(["huge", "bare"], "huge", id="too-large-first"),
        pytest.param(["bare", "huge"], "bare", id="no-vector-first"),
    ],
)
def test_the_first_failing_entry_is_named_and_nothing_written(
    tmp_path: Path, entries: list[str], named: str
) -> None:
    store = EmbeddedStore(tmp_path, ann=AnnConfig(storage="fp16"))
    store.initialize(StoreInfo("dot", DIM, "dot"))
    store.upsert([entry("old", axis(0))])
    given = {"huge": entry("huge", axis(1) * 1e6), "bare": entry("bare", None)}
    with pytest.raises(InvalidInput, match=repr(named)):
        store.upsert([entry("ok", axis(2)), *[given[e] for e in entries]])
    assert store.all_ids() == ["old"]
    assert [h.id for h in store.search(axis(2), n=5)] == ["old"]
    store.close()


class _Counting:
    """A reading connection that counts the vector rows a sync reads."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db, self.read = db, 0

    def execute(self, query: str, *args: Any) -> Any:
        cursor = self.db.execute(query, *args)
        if "v.vector" not in query:
            return cursor
        rows = cursor.fetchall()
        self.read += len(rows)
        return _Rows(rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


class _Rows:
    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def fetchmany(self, size: int) -> list[Any]:
        out, self.rows = self.rows[:size], self.rows[size:]
        return out


def test_the_writer_reads_back_only_other_processes_rows(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.upsert([entry("first", axis(0))])
    counting = store._rdb = _Counting(store._rdb)  # type: ignore[assignment]
    store.upsert([entry(f"i{k}", axis(k), kind="x") for k in range(1, 6)])
    assert counting.read == 0
    other = EmbeddedStore(tmp_path)  # another writer: its rows come before ours
    other.upsert([entry("theirs", axis(7), kind="x")])
    store.upsert([entry("mine", axis(6), kind="x")])
    assert counting.read == 1  # theirs
    hits = store.search(axis(7), n=1, where={"kind": "x"})
    assert [h.id for h in hits] == ["theirs"]
    assert store.titles(["theirs", "mine"]) == {"theirs": "title theirs", "mine": "title mine"}
    assert store._spaces["text"].ids == ["first", "i1", "i2", "i3", "i4", "i5", "theirs", "mine"]
    other.close()
    store._rdb = counting.db  # type: ignore[assignment]
    store.close()


def test_a_large_write_is_read_back_a_chunk_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog, "BATCH", 2)
    monkeypatch.setattr(catalog, "HAND_OVER", 4)
    store = _store(tmp_path)
    counting = store._rdb = _Counting(store._rdb)  # type: ignore[assignment]
    store.upsert([entry(f"i{k}", axis(k), kind="x") for k in range(4)])
    assert counting.read == 0  # handed over
    store.upsert([entry(f"j{k}", axis(k, 0.5), kind="x") for k in range(5)])
    assert counting.read == 5  # more than HAND_OVER: none held, every row read back
    assert store._spaces["text"].ids == [*(f"i{k}" for k in range(4)), *(f"j{k}" for k in range(5))]
    assert [h.id for h in store.search(axis(3, 0.5), n=1, where={"kind": "x"})] == ["j3"]
    store._rdb = counting.db  # type: ignore[assignment]
    store.close()


def test_rows_handed_over_are_dropped_when_renumbered_since(tmp_path: Path) -> None:
    """Another process's `replace_all` between the write's commit and its sync renumbers
    the labels: the rows written are read again, under their new labels."""
    store = _store(tmp_path)
    store.upsert([entry(f"i{k}", axis(k)) for k in range(4)])
    own: dict[str, Written] = {}
    with store._sql, transaction(store._db) as db:
        catalog.upsert(db, store._indexes(db), [entry("i9", axis(6))], own)
    other = EmbeddedStore(tmp_path)
    ids = ["i9", "i0", "i1", "i2", "i3"]
    other.replace_all(INFO, [entry(i, axis(k + 1)) for k, i in enumerate(ids)])
    with store._rw.write():
        store._sync(own=own)
    assert store._spaces["text"].ids == ids
    assert [h.id for h in store.search(axis(1), n=1)] == ["i9"]
    other.close()
    store.close()


def test_a_snapshot_rebuilt_from_the_rows_equals_the_writers_index(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for entries in _writes():
        store.upsert(entries)
    store.delete(["i4"])
    written = _state(store)
    store.close()
    for folder in ("index", "index-b"):
        shutil.rmtree(tmp_path / folder, ignore_errors=True)
    again = EmbeddedStore(tmp_path)
    assert _state(again) == written
    assert np.isfinite(np.asarray(written["text"]["vectors"])).all()
    again.close()
