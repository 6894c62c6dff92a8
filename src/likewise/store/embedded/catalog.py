"""The embedded store's catalog writes: items and their vectors in every space, each function
inside the caller's transaction."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from likewise.errors import InvalidInput, StoreError
from likewise.items.records import hash_record, record_text
from likewise.store.base import TEXT, Entry, Hit, Space, StoreInfo, Vector
from likewise.store.checks import check_vectors
from likewise.store.embedded.meta import read_meta
from likewise.store.embedded.space import SpaceIndex
from likewise.store.embedded.written import Written
from likewise.store.shadow import SHADOW
from likewise.store.sql import Dialect, Sql
from likewise.store.sql.activity import trend_score

__all__ = [
    "SQLITE",
    "check_entries",
    "counts",
    "delete",
    "info_stats",
    "popular",
    "put_vectors",
    "replace_text",
    "rows_in",
    "space_stats",
    "upsert",
]


def _blob(vector: Vector | None) -> bytes | None:
    return None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()


def _vector(blob: bytes | None) -> Vector | None:
    return None if blob is None else np.frombuffer(blob, dtype=np.float32).copy()


SQLITE = Dialect(
    "sqlite",
    "?",
    "strftime('%Y-%m-%d', {col}, 'unixepoch')",
    _blob,
    _vector,
    checkpoint="PRAGMA wal_checkpoint(TRUNCATE)",
    wait_briefly="PRAGMA busy_timeout = 200",
    wait_again="PRAGMA busy_timeout = 30000",  # the connections' `timeout=30`
)


def rows_in(db: sqlite3.Connection, query: str, keys: Sequence[str]) -> list[Any]:
    return Sql(db, SQLITE, db.executemany).rows_in(query, keys)


def check_entries(space: Space, entries: Sequence[Entry]) -> None:
    """`check_vectors` of the entries' vectors: one numpy check when each is a float32 row of
    the space's size (a bulk load's rows), else row by row, whose error names the item."""
    given = [e.vector for e in entries if e.vector is not None]
    shape, f32 = (space.dim,), np.dtype(np.float32)
    rows = all(type(v) is np.ndarray and v.dtype == f32 and v.shape == shape for v in given)
    if rows and (not given or np.isfinite(np.stack(given)).all()):
        return
    check_vectors(space, {e.item.id: e.vector for e in entries if e.vector is not None})


def upsert(
    db: sqlite3.Connection,
    spaces: Sequence[SpaceIndex],
    entries: Sequence[Entry],
    written: dict[str, Written] | None = None,
) -> None:
    """Write items; the text space takes each new vector (or keeps the old one), and every
    space gives the item a new label, so its index sees the new metadata (the shadow of a
    reembed drops its vector of an item whose text changed). The rows each space got are
    put in `written`, by space, for the writer's own sync.

    The statements run a batch at a time: up to `BATCH` entries, ending before an id seen
    in it, so each batch is written as the entries one by one would be. A write of more than
    `HAND_OVER` entries hands nothing over (its rows would all be held at once): the sync
    reads them back a chunk at a time."""
    meta = read_meta(db)
    out = {s.space.name: Written(meta.generation(s.space.name), s.next_label(db)) for s in spaces}
    hand = len(entries) <= HAND_OVER
    now = time.time()
    for batch in _batches(entries):
        _upsert_batch(db, spaces, batch, out, now)
        if not hand:  # the rows written are let go, the labels go on
            out = {n: Written(w.generation, w.first + len(w.ids)) for n, w in out.items()}
    if written is not None and hand:
        written.update(out)


BATCH, HAND_OVER = 10_000, 50_000


def _batches(entries: Sequence[Entry]) -> Iterator[list[Entry]]:
    batch: dict[str, Entry] = {}
    for entry in entries:
        if entry.item.id in batch or len(batch) >= BATCH:
            yield list(batch.values())
            batch = {}
        batch[entry.item.id] = entry
    if batch:
        yield list(batch.values())


def _upsert_batch(
    db: sqlite3.Connection,
    spaces: Sequence[SpaceIndex],
    entries: Sequence[Entry],
    written: Mapping[str, Written],
    now: float,
) -> None:
    """`upsert` of entries of distinct ids: the checks entry by entry (the first failing
    entry is the one named), each statement once for them all."""
    ids = [e.item.id for e in entries]
    old = {s.space.name: s.retire_all(db, ids) for s in spaces}
    before = {name: len(done.ids) for name, done in written.items()}
    label = written[TEXT].first + before[TEXT]
    rows = []
    for entry in entries:
        item_id, record = entry.item.id, entry.item.to_record()
        record_hash, text = hash_record(record), record_text(record)  # one record for both
        rows.append((item_id, label, entry.content_hash, record_hash, text, now))
        label += 1
        for space in spaces:
            name = space.space.name
            blob = old[name].get(item_id)
            if name == TEXT and entry.vector is not None:
                blob = _blob(entry.vector)
            elif name == SHADOW and entry.vector is not None:
                blob = None  # new text: the reembed's vector of the old text is dropped
            if blob is None and name == TEXT:
                raise InvalidInput(f"item {item_id!r} is new and has no vector", field="vector")
            if blob is not None:
                space.check(item_id, blob)  # the transaction rolls back
                done = written[name]
                done.ids.append(item_id)
                done.blobs.append(blob)
                done.records.append(record)
    db.executemany(
        "INSERT INTO items(id, label, content_hash, record_hash, record, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
        "label = excluded.label, content_hash = excluded.content_hash, "
        "record_hash = excluded.record_hash, record = excluded.record, "
        "updated_at = excluded.updated_at",
        rows,
    )
    for space in spaces:
        space.insert_rows(db, written[space.space.name], before[space.space.name])


def put_vectors(db: sqlite3.Connection, space: SpaceIndex, vectors: Mapping[str, Vector]) -> None:
    """Set stored items' vectors in one space (InvalidInput if an item is unknown)."""
    known = {r[0] for r in rows_in(db, "SELECT id FROM items WHERE id", list(vectors))}
    missing = sorted(set(vectors) - known)
    if missing:
        raise InvalidInput(f"unknown item {missing[0]!r}", field="vectors")
    label = space.next_label(db)
    for item_id, vector in vectors.items():
        space.retire(db, item_id)
        space.insert(db, label, item_id, np.asarray(vector, dtype=np.float32).tobytes())
        label += 1


def drop_vectors(db: sqlite3.Connection, space: SpaceIndex, ids: Sequence[str]) -> None:
    """Retire the items' vectors in one space other than `text` (whose vectors come and go
    with their items)."""
    if space.space.name == TEXT:
        raise InvalidInput("text vectors go with their items (delete)", field="space")
    for item_id in dict.fromkeys(ids):
        space.retire(db, item_id)


def delete(db: sqlite3.Connection, spaces: Sequence[SpaceIndex], ids: Sequence[str]) -> int:
    """Remove items and their vectors in every space; returns how many existed."""
    removed = 0
    for item_id in dict.fromkeys(ids):
        for space in spaces:
            space.retire(db, item_id)
        removed += db.execute("DELETE FROM items WHERE id = ?", (item_id,)).rowcount
    return int(removed)


def replace_text(db: sqlite3.Connection, entries: Sequence[Entry]) -> None:
    """Swap every text vector (a new model) for labels 0..n-1; the caller bumps the text
    space's generation so its index is rebuilt."""
    stored = {row[0] for row in db.execute("SELECT id FROM items")}
    given = {e.item.id for e in entries}
    if stored != given or any(e.vector is None for e in entries):
        raise StoreError("replace_all needs a new vector for every stored item")
    db.execute("DELETE FROM vectors")
    db.execute("DELETE FROM kills")
    for label, entry in enumerate(entries):
        db.execute(
            "INSERT INTO vectors VALUES (?, ?, ?)", (label, entry.item.id, _blob(entry.vector))
        )
        db.execute(
            "UPDATE items SET label = ?, content_hash = ? WHERE id = ?",
            (-1 - label, entry.content_hash, entry.item.id),
        )
    db.execute("UPDATE items SET label = -1 - label")  # two steps: labels are UNIQUE


def popular(
    rdb: sqlite3.Connection, text: SpaceIndex, keep: Any, n: int, trending: bool, newest: bool
) -> list[Hit]:
    """The `n` items with the most summed signal (decayed by age with `trending`) among the
    labels `keep` allows, then the newest others with score 0 (`keep` is used up); with
    `newest`, the newest alone (a label is given at each write)."""
    order, now = ("trend", time.time()) if trending else ("score", 0.0)
    size = text.index.size
    hits: list[Hit] = []
    cursor = rdb.execute(
        f"SELECT p.item_id, p.{order}, i.label FROM popularity p "
        f"JOIN items i ON i.id = p.item_id ORDER BY p.{order} DESC, p.item_id"
    )
    while not newest and len(hits) < n and (rows := cursor.fetchmany(64)):
        for item_id, score, label in rows:
            if label < size and keep[label]:
                keep[label] = False
                hits.append(Hit(item_id, float(trend_score(score, now) if trending else score)))
    hits = hits[:n]
    latest = np.flatnonzero(keep)[::-1][: n - len(hits)]
    return hits + [Hit(text.ids[label], 0.0) for label in latest.tolist()]


def counts(rdb: sqlite3.Connection) -> dict[str, int]:
    items, events, profiles = rdb.execute(
        "SELECT (SELECT COUNT(*) FROM items), (SELECT COUNT(*) FROM events), "
        "(SELECT COUNT(*) FROM profiles)"
    ).fetchone()
    return {"items": items, "events": events, "profiles": profiles}


def info_stats(info: StoreInfo | None) -> dict[str, Any]:
    """The model, dimension, metric and template of `stats` (all None before `initialize`)."""
    found = asdict(info) if info else dict.fromkeys(["model_id", "dim", "metric", "template"])
    return {"model": found.pop("model_id"), **found}


def space_stats(index: SpaceIndex) -> dict[str, Any]:
    """A space's dimension, metric, live vectors and labels (live and dead)."""
    space = index.space
    live, labels = index.index.live_count(), index.index.size
    return {"dim": space.dim, "metric": space.metric, "vectors": live, "labels": labels}


def stats(
    path: Path,
    version: int,
    counts: dict[str, Any],
    info: StoreInfo | None,
    spaces: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The embedded store's `stats()`, from its counts and each space's index figures."""
    db_bytes = sum(p.stat().st_size for p in path.glob("likewise.db*") if p.is_file())
    text = spaces.get(TEXT, {})
    return {
        "location": str(path),
        "backend": "embedded",
        "schema_version": version,
        **counts,
        **info_stats(info),
        "spaces": {n: {k: v for k, v in s.items() if k != "labels"} for n, s in spaces.items()},
        "index_labels": text.get("labels", 0),
        "index_dead_labels": text.get("labels", 0) - text.get("vectors", 0),
        "db_bytes": db_bytes,
    }
