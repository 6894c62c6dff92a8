"""The embedded store: one data directory, SQLite (WAL) for records and vectors, faiss in memory.

SQLite is the truth and every write is durable when the call returns. The in-memory index is a
cache of it: labels are append-only rows of `vectors`, removals are rows of `kills`, so at open
(or when another process has written) the index catches up by reading rows past what it holds.
A snapshot of the index is saved at close, so a large store opens without rebuilding.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from likewise.errors import ConfigError, InvalidInput, StoreError
from likewise.filters import parse_where
from likewise.items.model import Item, parse_item
from likewise.store import activity
from likewise.store.ann import AnnConfig, VectorIndex
from likewise.store.base import (
    DerivedReads,
    Entry,
    Fetched,
    Hit,
    StoreInfo,
    Vector,
    check_query,
)
from likewise.store.columns import Columns
from likewise.store.embedded_activity import SqliteActivity
from likewise.store.locks import RWLock

__all__ = ["EmbeddedStore", "filterable"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
NOT_FILTERABLE = ("id", "title", "body", "image")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY, label INTEGER NOT NULL UNIQUE, content_hash TEXT NOT NULL,
    record_hash TEXT NOT NULL, record TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS vectors (label INTEGER PRIMARY KEY, item_id TEXT NOT NULL, vector BLOB);
CREATE TABLE IF NOT EXISTS kills (seq INTEGER PRIMARY KEY AUTOINCREMENT, label INTEGER NOT NULL);
"""


def filterable(record: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an item record that `where` filters see (metadata and tags)."""
    return {k: v for k, v in record.items() if k not in NOT_FILTERABLE}


class EmbeddedStore(SqliteActivity, DerivedReads):
    """A :class:`~likewise.store.base.Store` in a directory: `likewise.db` plus `index/`."""

    def __init__(self, path: str | Path, *, ann: AnnConfig | None = None) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"data location {self.path} exists and is not a directory")
        self._ann = ann or AnnConfig()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path / "likewise.db", isolation_level=None, check_same_thread=False, timeout=30
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # durable before a write returns
            # Checkpoint every ~64 MB of WAL, not 4 MB: hot pages (profiles) are copied back
            # once per checkpoint instead of once per batch (measured in bench/events.py).
            self._db.execute("PRAGMA wal_autocheckpoint=16000")
            self._db.executescript(_SCHEMA + activity.SCHEMA)
            activity.migrate(self._db)
            # Reads of records go through a second connection: under WAL it reads the last
            # commit while the writer holds its transaction (and its fsync) open.
            self._rdb = sqlite3.connect(
                self.path / "likewise.db", isolation_level=None, check_same_thread=False, timeout=30
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the store at {self.path}: {exc}") from exc
        self._sql = threading.RLock()  # one connection, one statement at a time
        self._rsql = threading.RLock()  # the same for the reading connection
        self._writer = threading.Lock()  # one write transaction + index update at a time
        self._rw = RWLock()  # searches share the index; catching up takes it alone
        version = self._meta("schema_version")
        if version is None:
            self._set_meta({"schema_version": str(SCHEMA_VERSION), "generation": "0"})
        elif int(version) != SCHEMA_VERSION:
            raise StoreError(f"{self.path}: schema version {version}, expected {SCHEMA_VERSION}")
        self._info = self._read_info()
        self._generation = -1
        self._data_version = -1
        self._index: VectorIndex | None = None
        self._ids: list[str] = []  # label -> item id
        self._label_of: dict[str, int] = {}  # item id -> live label, as the index holds it
        self._columns = Columns()
        self._kill_seq = 0
        self._dirty = False
        if self._info is not None:
            with self._rw.write():
                self._load_snapshot()
                self._sync()
                self._calibrate_if_grown()

    # -- metadata ---------------------------------------------------------------------------

    @property
    def info(self) -> StoreInfo | None:
        return self._info

    def initialize(self, info: StoreInfo) -> None:
        if self._info is not None:
            raise StoreError(f"{self.path} is already initialised for {self._info.model_id}")
        self._set_meta(_info_meta(info))
        self._info = info
        with self._rw.write():
            self._sync()

    def _meta(self, key: str) -> str | None:
        with self._rsql:
            row = self._rdb.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, values: Mapping[str, str]) -> None:
        with self._sql:
            self._db.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )

    def _read_info(self) -> StoreInfo | None:
        model = self._meta("model_id")
        if model is None:
            return None
        metric: Any = self._meta("metric") or "cosine"
        return StoreInfo(
            model, int(self._meta("dim") or 0), metric, self._meta("template") or "title,body,tags"
        )

    def _require_info(self) -> StoreInfo:
        if self._info is None:
            raise StoreError(f"{self.path} has no items yet (no model recorded)")
        return self._info

    # -- writes -----------------------------------------------------------------------------

    def upsert(self, entries: Sequence[Entry]) -> None:
        info = self._require_info()
        for entry in entries:
            if entry.vector is None:
                continue
            if entry.vector.shape != (info.dim,):
                raise InvalidInput(
                    f"vector of item {entry.item.id!r} has shape {entry.vector.shape}, "
                    f"the store holds {info.dim}-d vectors",
                    field="vector",
                )
            if not np.isfinite(entry.vector).all():
                raise InvalidInput(
                    f"vector of item {entry.item.id!r} is not finite", field="vector"
                )
        if not entries:
            return
        with self._writer:
            with self._sql, self._transaction() as db:
                label = self._next_label(db)
                now = time.time()
                for entry in entries:
                    blob = self._retire(db, entry.item.id)
                    if entry.vector is not None:
                        blob = np.asarray(entry.vector, dtype=np.float32).tobytes()
                    if blob is None:
                        raise InvalidInput(
                            f"item {entry.item.id!r} is new and has no vector", field="vector"
                        )
                    record = entry.item.to_record()
                    db.execute(
                        "INSERT INTO vectors(label, item_id, vector) VALUES (?, ?, ?)",
                        (label, entry.item.id, blob),
                    )
                    db.execute(
                        "INSERT INTO items(id, label, content_hash, record_hash, record, "
                        "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                        "label = excluded.label, content_hash = excluded.content_hash, "
                        "record_hash = excluded.record_hash, record = excluded.record, "
                        "updated_at = excluded.updated_at",
                        (
                            entry.item.id,
                            label,
                            entry.content_hash,
                            entry.item.record_hash(),
                            json.dumps(record, ensure_ascii=False),
                            now,
                        ),
                    )
                    label += 1
            with self._rw.write():
                self._sync()

    def delete(self, ids: Sequence[str]) -> int:
        removed = 0
        with self._writer:
            with self._sql, self._transaction() as db:
                for item_id in dict.fromkeys(ids):
                    if self._retire(db, item_id, keep_row=False) is not None:
                        removed += 1
            with self._rw.write():
                self._sync()
        return removed

    def replace_all(self, info: StoreInfo, entries: Sequence[Entry]) -> None:
        with self._writer:
            with self._sql, self._transaction() as db:
                stored = {row[0] for row in db.execute("SELECT id FROM items")}
                given = {e.item.id for e in entries}
                if stored != given or any(e.vector is None for e in entries):
                    raise StoreError("replace_all needs a new vector for every stored item")
                db.execute("DELETE FROM vectors")
                db.execute("DELETE FROM kills")
                for label, entry in enumerate(entries):
                    blob = np.asarray(entry.vector, dtype=np.float32).tobytes()
                    db.execute("INSERT INTO vectors VALUES (?, ?, ?)", (label, entry.item.id, blob))
                    db.execute(
                        "UPDATE items SET label = ?, content_hash = ? WHERE id = ?",
                        (-1 - label, entry.content_hash, entry.item.id),
                    )
                db.execute("UPDATE items SET label = -1 - label")  # two steps: labels are UNIQUE
                generation = int(self._meta("generation") or 0) + 1
                self._set_meta({**_info_meta(info), "generation": str(generation)})
            self._info = info
            with self._rw.write():
                self._sync()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def _next_label(self, db: sqlite3.Connection) -> int:
        return int(db.execute("SELECT COALESCE(MAX(label), -1) + 1 FROM vectors").fetchone()[0])

    def _retire(self, db: sqlite3.Connection, item_id: str, *, keep_row: bool = True) -> Any:
        """Kill the item's current label; return its vector blob (None if there was none)."""
        row = db.execute("SELECT label FROM items WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            return None
        (label,) = row
        (blob,) = db.execute("SELECT vector FROM vectors WHERE label = ?", (label,)).fetchone()
        db.execute("UPDATE vectors SET vector = NULL WHERE label = ?", (label,))
        db.execute("INSERT INTO kills(label) VALUES (?)", (label,))
        if not keep_row:
            db.execute("DELETE FROM items WHERE id = ?", (item_id,))
        return blob

    # -- reads ------------------------------------------------------------------------------

    def get(self, ids: Sequence[str]) -> list[Item]:
        found = {r[0]: parse_item(json.loads(r[1])) for r in self._by_id(ids, "record")}
        return [found[i] for i in ids if i in found]

    def titles(self, ids: Sequence[str]) -> dict[str, str]:
        return {r[0]: r[1] or "" for r in self._by_id(ids, "json_extract(record, '$.title')")}

    def hashes(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        return {r[0]: (r[1], r[2]) for r in self._by_id(ids, "content_hash, record_hash")}

    def _by_id(self, ids: Sequence[str], columns: str) -> list[Any]:
        """`id` and `columns` of the stored items among `ids` (any order)."""
        with self._rsql:
            return activity.rows_in(self._rdb, f"SELECT id, {columns} FROM items WHERE id", ids)

    def all_ids(self) -> list[str]:
        with self._rsql:
            return [r[0] for r in self._rdb.execute("SELECT id FROM items ORDER BY id")]

    def vectors(self, ids: Sequence[str]) -> dict[str, Vector]:
        self._refresh()
        with self._rw.read():
            labels = self._labels(ids)
            if not labels or self._index is None:
                return {}
            rows = self._index.vectors()[list(labels.values())]  # a copy: fancy indexing
        return dict(zip(labels, rows, strict=True))

    def matching(self, ids: Sequence[str], where: Mapping[str, Any] | None) -> list[str]:
        node = parse_where(where)
        self._refresh()
        with self._rw.read():
            labels = self._labels(ids)
            if node is None or self._index is None:
                return [i for i in ids if i in labels]
            mask = self._columns.mask(node, self._index.size)
            return [i for i in ids if i in labels and mask[labels[i]]]

    def fetch(self, ids: Sequence[str]) -> dict[str, Fetched]:
        records = {r[0]: json.loads(r[1]) for r in self._by_id(ids, "record")}
        vectors = self.vectors([i for i in ids if i in records])
        return {
            i: Fetched(i, vectors.get(i), filterable(rec), rec.get("title") or "")
            for i in ids
            if (rec := records.get(i)) is not None
        }

    def count(self, where: Mapping[str, Any] | None = None) -> int:
        node = parse_where(where)
        self._refresh()
        with self._rw.read():
            if self._index is None:
                return 0
            if node is None:
                return self._index.live_count()
            mask = self._columns.mask(node, self._index.size)
            return int((mask & self._index.alive).sum())

    def search(
        self,
        vector: Vector,
        *,
        n: int,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
    ) -> list[Hit]:
        node = parse_where(where)
        info = self._require_info()
        vector = check_query(info, vector, n)
        self._refresh()
        with self._rw.read():
            excluded = list(self._labels(exclude).values())
            index = self._index
            assert index is not None
            mask = None if node is None else self._columns.mask(node, index.size)
            extra = 0
            if excluded and mask is None and len(excluded) <= 100:
                extra = len(excluded)  # cheaper to drop them from a longer list
            elif excluded:
                mask = np.ones(index.size, dtype=bool) if mask is None else mask
                mask[excluded] = False
            labels, scores = index.search(vector, n + extra, mask)
            skip = set(excluded) if extra else set()
            hits = [
                Hit(self._ids[label], float(score))
                for label, score in zip(labels.tolist(), scores.tolist(), strict=True)
                if label not in skip
            ]
        return hits[:n]

    def popular(
        self,
        *,
        n: int,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        trending: bool = False,
    ) -> list[Hit]:
        if n < 1:
            raise InvalidInput("must be at least 1", field="n")
        node = parse_where(where)
        self._refresh()
        order, now = ("trend", time.time()) if trending else ("score", 0.0)
        with self._rw.read():
            excluded = list(self._labels(exclude).values())
            index = self._index
            if index is None:
                return []
            keep = index.alive.copy()
            if node is not None:
                keep &= self._columns.mask(node, index.size)
            keep[excluded] = False
            hits: list[Hit] = []
            with self._rsql:
                cursor = self._rdb.execute(
                    f"SELECT p.item_id, p.{order}, i.label FROM popularity p "
                    f"JOIN items i ON i.id = p.item_id ORDER BY p.{order} DESC, p.item_id"
                )
                while len(hits) < n and (rows := cursor.fetchmany(64)):
                    for item_id, score, label in rows:
                        if label < index.size and keep[label]:
                            keep[label] = False
                            value = activity.trend_score(score, now) if trending else score
                            hits.append(Hit(item_id, float(value)))
            hits = hits[:n]
            newest = np.flatnonzero(keep)[::-1][: n - len(hits)]
            hits += [Hit(self._ids[label], 0.0) for label in newest.tolist()]
        return hits

    def _labels(self, ids: Sequence[str]) -> dict[str, int]:
        """Live labels of the ids the index holds (hold the read lock)."""
        label_of = self._label_of
        return {i: label_of[i] for i in ids if i in label_of}

    def stats(self) -> dict[str, Any]:
        self._refresh()
        info = self._info
        with self._rsql:
            items, events, profiles = self._rdb.execute(
                "SELECT (SELECT COUNT(*) FROM items), (SELECT COUNT(*) FROM events), "
                "(SELECT COUNT(*) FROM profiles)"
            ).fetchone()
        db_bytes = sum(p.stat().st_size for p in self.path.glob("likewise.db*") if p.is_file())
        index = self._index
        return {
            "location": str(self.path),
            "backend": "embedded",
            "schema_version": SCHEMA_VERSION,
            "items": items,
            "events": events,
            "profiles": profiles,
            "model": info.model_id if info else None,
            "dim": info.dim if info else None,
            "metric": info.metric if info else None,
            "template": info.template if info else None,
            "index_labels": index.size if index else 0,
            "index_dead_labels": index.size - index.live_count() if index else 0,
            "db_bytes": db_bytes,
        }

    # -- the in-memory index ----------------------------------------------------------------

    def _refresh(self) -> None:
        """Catch up with writes that another process committed since we last looked."""
        with self._rsql:  # the reading connection: a writer's open transaction never blocks it
            (version,) = self._rdb.execute("PRAGMA data_version").fetchone()
        if version != self._data_version:
            if self._info is None:
                self._info = self._read_info()
            if self._info is not None:
                with self._rw.write():
                    self._sync()
            self._data_version = version

    def _reset(self, generation: int) -> None:
        info = self._require_info()
        self._index = VectorIndex(info.dim, info.metric, self._ann)
        self._ids = []
        self._label_of = {}
        self._columns = Columns()
        self._kill_seq = 0
        self._generation = generation

    def _sync(self) -> None:
        """Apply rows past what the index holds (caller holds the write lock)."""
        generation = int(self._meta("generation") or 0)
        if self._index is None or generation != self._generation:
            self._reset(generation)
        index = self._index
        assert index is not None
        dim = index.dim
        query = (
            "SELECT v.label, v.item_id, v.vector, i.record FROM vectors v "
            "LEFT JOIN items i ON i.label = v.label WHERE v.label >= ? ORDER BY v.label"
        )
        with self._rsql:
            cursor = self._rdb.execute(query, (index.size,))
            while rows := cursor.fetchmany(20_000):
                if rows[0][0] != index.size or rows[-1][0] != index.size + len(rows) - 1:
                    raise StoreError(f"{self.path}: vector labels are not contiguous")
                vectors = np.zeros((len(rows), dim), dtype=np.float32)
                alive = np.zeros(len(rows), dtype=bool)
                for row_no, (label, item_id, blob, record) in enumerate(rows):
                    self._ids.append(item_id)
                    if blob is not None and record is not None:
                        vectors[row_no] = np.frombuffer(blob, dtype=np.float32)
                        alive[row_no] = True
                        self._label_of[item_id] = label
                        self._columns.add(label, filterable(json.loads(record)))
                index.add(vectors, alive)
                self._dirty = True
            kills = self._rdb.execute(
                "SELECT seq, label FROM kills WHERE seq > ? ORDER BY seq", (self._kill_seq,)
            ).fetchall()
        if kills:
            index.kill([label for _, label in kills if label < index.size])
            for _, label in kills:
                if label < index.size and self._label_of.get(self._ids[label]) == label:
                    del self._label_of[self._ids[label]]
            self._kill_seq = kills[-1][0]
            self._dirty = True

    # -- snapshot ---------------------------------------------------------------------------

    @property
    def _snapshot_dir(self) -> Path:
        return self.path / "index"

    def _load_snapshot(self) -> None:
        info = self._require_info()
        folder = self._snapshot_dir
        if not (folder / "state.pkl").exists() or not (folder / "hnsw.faiss").exists():
            return
        try:
            with (folder / "state.pkl").open("rb") as fh:
                state = pickle.load(fh)
            generation = int(self._meta("generation") or 0)
            if state["version"] != 2 or state["generation"] != generation:
                return
            index = VectorIndex.load(
                folder / "hnsw.faiss", info.dim, info.metric, state["alive"], self._ann
            )
            if index.size != len(state["ids"]) or index.size != len(state["alive"]):
                log.warning("index snapshot in %s is inconsistent; rebuilding", folder)
                return
        except Exception as exc:
            log.warning("cannot read the index snapshot in %s (%s); rebuilding", folder, exc)
            return
        index.ef_search = state["ef_search"]
        index.calibrated_at = state["calibrated_at"]
        self._index = index
        self._ids = state["ids"]
        self._label_of = {self._ids[label]: label for label in np.flatnonzero(index.alive).tolist()}
        self._columns = state["columns"]
        self._kill_seq = state["kill_seq"]
        self._generation = state["generation"]
        self._dirty = False

    def _calibrate_if_grown(self) -> None:
        index = self._index
        if index is not None and index.size >= 1.25 * index.calibrated_at + 1:
            index.calibrate()
            self._dirty = True

    def save_snapshot(self) -> None:
        """Write the index so the next open need not rebuild it (atomic; safe to crash in)."""
        with self._rw.write():
            self._calibrate_if_grown()
        with self._rw.read():
            if self._index is None or not self._dirty:
                return
            folder = self._snapshot_dir
            folder.mkdir(exist_ok=True)
            state = {
                "version": 2,
                "generation": self._generation,
                "ids": self._ids,
                "alive": self._index.alive,
                "columns": self._columns,
                "kill_seq": self._kill_seq,
                "ef_search": self._index.ef_search,
                "calibrated_at": self._index.calibrated_at,
            }
            self._index.save(folder / "hnsw.faiss.tmp")
            with (folder / "state.pkl.tmp").open("wb") as fh:
                pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(folder / "hnsw.faiss.tmp", folder / "hnsw.faiss")
            os.replace(folder / "state.pkl.tmp", folder / "state.pkl")
            self._dirty = False

    def close(self) -> None:
        self.save_snapshot()
        with self._rsql:
            self._rdb.close()
        with self._sql:
            self._db.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error: all or nothing."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if kind else "COMMIT")


def _info_meta(info: StoreInfo) -> dict[str, str]:
    return {
        "model_id": info.model_id,
        "dim": str(info.dim),
        "metric": info.metric,
        "template": info.template,
    }
