"""One vector space of the embedded store: its SQLite rows and the in-memory index over them.

Labels are append-only rows of the space's `vectors` table, removals rows of its `kills`
table, so the index catches up by reading rows past what it holds. The text space keeps the
tables it always had (`vectors`, `kills`); another space `s` has `vectors_s` and `kills_s`.
Each space holds the filterable fields of its labels, so a filtered search in any space is
planned the same way (see `ann.py`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import pickle
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from likewise.errors import StoreError
from likewise.filters import Filter, filterable
from likewise.store.base import Space, Vector
from likewise.store.embedded.ann import AnnConfig, Mask, VectorIndex
from likewise.store.embedded.checksum import checksum
from likewise.store.embedded.columns import Columns
from likewise.store.embedded.storage import check_fits, storage_of
from likewise.store.embedded.written import Written

__all__ = ["SpaceIndex", "space_tables"]

log = logging.getLogger(__name__)
SNAPSHOT_VERSION = 2


def space_tables(name: str) -> tuple[str, str]:
    """The `vectors` and `kills` tables of a space (names are checked to be [a-z0-9_])."""
    return ("vectors", "kills") if name == "text" else (f"vectors_{name}", f"kills_{name}")


def create_tables(db: sqlite3.Connection, name: str) -> None:
    vectors, kills = space_tables(name)
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {vectors} "
        "(label INTEGER PRIMARY KEY, item_id TEXT NOT NULL, vector BLOB)"
    )
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {kills} "
        "(seq INTEGER PRIMARY KEY AUTOINCREMENT, label INTEGER NOT NULL)"
    )
    # Index names start with idx_, which no table's does: no space name can collide.
    db.execute(f"CREATE INDEX IF NOT EXISTS idx_{vectors}_item ON {vectors}(item_id)")


class SpaceIndex:
    """The index of one space: labels, live ids, filterable columns (caller holds locks)."""

    def __init__(self, space: Space, ann: AnnConfig) -> None:
        self.space = space
        self.vectors_table, self.kills_table = space_tables(space.name)
        self.ann = ann
        self._reset(-1)

    def _reset(self, generation: int) -> None:
        self.generation = generation
        self.index = VectorIndex(self.space.dim, self.space.metric, self.ann)
        self.ids: list[str] = []  # label -> item id
        self.titles: list[str] = []  # label -> the title of that version of the item
        self.label_of: dict[str, int] = {}  # item id -> live label, as the index holds it
        self.columns = Columns()
        self._masks: dict[Filter, Mask] = {}  # by filter, while `_masks_of` holds (see mask)
        self._masks_of: tuple[Columns, int] | None = None
        self.kill_seq = 0
        self.dirty = False

    # -- writes (inside the caller's transaction) -------------------------------------------

    def next_label(self, db: sqlite3.Connection) -> int:
        query = f"SELECT COALESCE(MAX(label), -1) + 1 FROM {self.vectors_table}"
        return int(db.execute(query).fetchone()[0])

    def retire(self, db: sqlite3.Connection, item_id: str) -> bytes | None:
        """Kill the item's live label; return its vector blob (None if it had none)."""
        return self.retire_all(db, [item_id]).get(item_id)

    def retire_all(self, db: sqlite3.Connection, ids: Sequence[str]) -> dict[str, bytes]:
        """`retire` for distinct `ids` in one query: the vector blob of each item that had
        one (its label killed, in the order of `ids`)."""
        rows = db.execute(
            f"SELECT item_id, label, vector FROM {self.vectors_table} WHERE vector IS NOT NULL "
            "AND item_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(ids)),),
        ).fetchall()
        found = {item_id: (label, blob) for item_id, label, blob in rows}
        killed = [(found[i][0],) for i in ids if i in found]
        db.executemany(f"UPDATE {self.vectors_table} SET vector = NULL WHERE label = ?", killed)
        db.executemany(f"INSERT INTO {self.kills_table}(label) VALUES (?)", killed)
        return {item_id: bytes(blob) for item_id, (_, blob) in found.items()}

    def insert(self, db: sqlite3.Connection, label: int, item_id: str, blob: bytes) -> None:
        self.check(item_id, blob)  # the transaction rolls back
        self.insert_rows(db, Written(self.generation, label, [item_id], [blob]), 0)

    def check(self, item_id: str, blob: bytes) -> None:
        """InvalidInput when this space's storage cannot keep the vector (see `insert`)."""
        check_fits(self.ann.storage, self.space.metric, item_id, blob)

    def insert_rows(self, db: sqlite3.Connection, written: Written, start: int) -> None:
        """Insert the rows of `written` from its `start`-th on (each passed `check`)."""
        first, ids, blobs = written.first, written.ids, written.blobs
        rows = [(first + n, ids[n], blobs[n]) for n in range(start, len(ids))]
        db.executemany(
            f"INSERT INTO {self.vectors_table}(label, item_id, vector) VALUES (?, ?, ?)", rows
        )

    # -- catching up ------------------------------------------------------------------------

    def sync(
        self, rdb: sqlite3.Connection, generation: int, written: Written | None = None
    ) -> None:
        """Apply rows past what the index holds (caller holds the index's write lock); the
        rows `written` (this process's write, just committed) are taken as handed, not read,
        when they are of this generation and next after the rows read."""
        if generation != self.generation:
            self._reset(generation)
        if len(self.titles) != len(self.ids):  # a snapshot written before titles were kept
            self._read_titles(rdb)
        own = written if written is not None and written.generation == generation else None
        if own is not None and self.index.size <= own.first:  # else a sync read them already
            self._read_rows(rdb, below=own.first)  # another process's, before them
            if self.index.size == own.first:
                self._take(own)
        self._read_rows(rdb)
        index = self.index
        kills = rdb.execute(
            f"SELECT seq, label FROM {self.kills_table} WHERE seq > ? ORDER BY seq",
            (self.kill_seq,),
        ).fetchall()
        if kills:
            index.kill([label for _, label in kills if label < index.size])
            for _, label in kills:
                if label < index.size and self.label_of.get(self.ids[label]) == label:
                    del self.label_of[self.ids[label]]
            self.kill_seq = kills[-1][0]
            self.dirty = True

    def _read_rows(self, rdb: sqlite3.Connection, below: int = 2**62) -> None:
        """Add the rows from the index's size up to `below` to the index."""
        index, dim = self.index, self.space.dim
        cursor = rdb.execute(
            f"SELECT v.label, v.item_id, v.vector, i.record FROM {self.vectors_table} v "
            "LEFT JOIN items i ON i.id = v.item_id WHERE v.label >= ? AND v.label < ? "
            "ORDER BY v.label",
            (index.size, below),
        )
        while rows := cursor.fetchmany(20_000):
            if rows[0][0] != index.size or rows[-1][0] != index.size + len(rows) - 1:
                raise StoreError(f"space {self.space.name!r}: vector labels are not contiguous")
            vectors = np.zeros((len(rows), dim), dtype=np.float32)
            alive = np.zeros(len(rows), dtype=bool)
            for row_no, (label, item_id, blob, record) in enumerate(rows):
                self.ids.append(item_id)
                if blob is not None and record is not None:
                    vectors[row_no] = np.frombuffer(blob, dtype=np.float32)
                    alive[row_no] = True
                    self._describe(label, item_id, json.loads(record))
                else:
                    self.titles.append("")
            index.add(vectors, alive)
            self.dirty = True

    def _take(self, written: Written) -> None:
        """Add the rows of this process's own write, as `_read_rows` would read them."""
        rows = zip(written.ids, written.records, strict=True)
        for label, (item_id, record) in enumerate(rows, start=self.index.size):
            self.ids.append(item_id)
            self._describe(label, item_id, record)
        count = len(written.ids)
        vectors = np.frombuffer(b"".join(written.blobs), dtype=np.float32)
        self.index.add(vectors.reshape(count, self.space.dim), np.ones(count, dtype=bool))
        self.dirty = True

    def _describe(self, label: int, item_id: str, record: Mapping[str, Any]) -> None:
        self.label_of[item_id] = label
        self.titles.append(record.get("title") or "")
        self.columns.add(label, filterable(record))

    def _read_titles(self, rdb: sqlite3.Connection) -> None:
        self.titles = [""] * len(self.ids)
        rows = rdb.execute(
            f"SELECT v.label, json_extract(i.record, '$.title') FROM {self.vectors_table} v "
            "JOIN items i ON i.id = v.item_id WHERE v.vector IS NOT NULL AND v.label < ?",
            (len(self.ids),),
        )
        for label, title in rows:
            self.titles[label] = title or ""
        self.dirty = True

    # -- reads (caller holds the index's read lock) -----------------------------------------

    def labels(self, ids: Sequence[str]) -> dict[str, int]:
        """Live labels of the ids the index holds."""
        label_of = self.label_of
        return {i: label_of[i] for i in ids if i in label_of}

    def mask(self, node: Filter) -> Mask:
        """The labels matching `node`: one read-only array per filter while the index keeps
        its size, so the index can keep what it derives from it (`selection.py`)."""
        size = self.index.size
        if self._masks_of != (self.columns, size):
            self._masks, self._masks_of = {}, (self.columns, size)
        try:
            found = self._masks.get(node)
        except TypeError:  # a value that cannot be hashed: made for this query alone
            return self.columns.mask(node, size)
        if found is None:
            found = self.columns.mask(node, size)
            found.flags.writeable = False  # shared by every query with this filter
            if len(self._masks) >= 32:
                self._masks = {}
            self._masks[node] = found
        return found

    def vectors(self, ids: Sequence[str]) -> dict[str, Vector]:
        return self.rows(self.labels(ids))

    def rows(self, labels: Mapping[str, int]) -> dict[str, Vector]:
        """The vectors of items by their live labels here (see `labels`)."""
        if not labels:
            return {}
        rows = self.index.rows(list(labels.values()))
        return dict(zip(labels, rows, strict=True))

    def search(
        self, vector: Vector, n: int, mask: Mask | None, exclude: Sequence[str]
    ) -> list[tuple[str, float]]:
        found = self.search_labels(vector, n, mask, list(self.labels(exclude).values()))
        return [(self.ids[label], score) for label, score in found]

    def search_labels(
        self, vector: Vector, n: int, mask: Mask | None, excluded: Sequence[int]
    ) -> list[tuple[int, float]]:
        """The top `n` (label, score) among `mask` (or all) but the labels `excluded` (each
        once); the ids are looked up for the kept ones alone (each a read of cold memory)."""
        index, extra = self.index, 0
        if excluded and mask is None and len(excluded) <= 100:
            extra = len(excluded)  # cheaper to drop them from a longer list
        elif excluded:
            mask = np.ones(index.size, dtype=bool) if mask is None else mask.copy()
            mask[list(excluded)] = False
        labels, scores = index.search(vector, n + extra, mask)
        found = zip(labels.tolist(), scores.tolist(), strict=True)
        if not extra:
            return list(found)
        skip = set(excluded)
        return [(label, score) for label, score in found if label not in skip][:n]

    # -- snapshot ---------------------------------------------------------------------------

    def load(self, folder: Path, generation: int) -> None:
        """Adopt the snapshot in `folder` if it is of this generation (else keep empty: `sync`
        rebuilds the index from the rows). A snapshot that cannot be trusted (a file missing,
        truncated or overwritten, or the pair not written together) is logged as a warning."""
        graph, state_file = folder / GRAPH, folder / STATE
        found = [p.name for p in (graph, state_file) if p.exists()]
        if len(found) < 2:
            if found:
                log.warning("index snapshot in %s has %s alone; %s", folder, found[0], REBUILD)
            return
        try:
            state = _read_state(state_file, graph)
            if state["version"] != SNAPSHOT_VERSION or state["generation"] != generation:
                return  # an older format, or re-embedded since: rebuilt, as expected
            space = self.space
            index = VectorIndex.load(graph, space.dim, space.metric, state["alive"], self.ann)
            if index.index.d != space.dim:  # another model wrote it (a raced initialise)
                log.warning("index snapshot in %s has another dimension; %s", folder, REBUILD)
                return
            if storage_of(index.index) != self.ann.storage:
                log.warning("index snapshot in %s stores another kind; %s", folder, REBUILD)
                return
            if index.size != len(state["ids"]) or index.size != len(state["alive"]):
                log.warning("index snapshot in %s is inconsistent; %s", folder, REBUILD)
                return
        except Exception as exc:
            log.warning("cannot read the index snapshot in %s (%s); %s", folder, exc, REBUILD)
            return
        index.ef_search = state["ef_search"]
        index.calibrated_at = state["calibrated_at"]
        index.by_share = state.get("by_share") or {}  # none before 0.x: 1/sqrt(share)
        self.index = index
        self.ids = state["ids"]
        self.titles = state.get("titles") or []  # snapshots of 0.1 have none: read at sync
        self.label_of = {self.ids[label]: label for label in np.flatnonzero(index.alive).tolist()}
        self.columns = state["columns"]
        self.kill_seq = state["kill_seq"]
        self.generation = state["generation"]
        self.dirty = False

    def calibrate_if_grown(self, *, saving: bool = False) -> None:
        """Calibrate when the catalog grew by a quarter since the last time; when `saving`,
        also when the snapshot came from a likewise that did not measure filtered beams (done
        at the close, not the open: at 1M it takes tens of seconds)."""
        index = self.index
        older = saving and index.calibrated_at > 0 and not index.by_share
        if index.size >= 1.25 * index.calibrated_at + 1 or older:
            index.calibrate()
            self.dirty = True

    def save(self, folder: Path) -> None:
        """Write the index so the next open need not rebuild it (atomic; safe to crash in).

        The snapshot is a cache of the rows, so failing to write it (a full disk) is a
        warning, not an error: the files written so far are removed, the previous snapshot
        stays, and the next open catches up from it or rebuilds from the rows."""
        if not self.dirty:
            return
        state: Mapping[str, Any] = {
            "version": SNAPSHOT_VERSION,
            "generation": self.generation,
            "ids": self.ids,
            "titles": self.titles,
            "alive": self.index.alive,
            "columns": self.columns,
            "kill_seq": self.kill_seq,
            "ef_search": self.index.ef_search,
            "calibrated_at": self.index.calibrated_at,
            "by_share": self.index.by_share,
        }
        partial = [folder / f"{GRAPH}.tmp", folder / f"{STATE}.tmp"]
        try:
            folder.mkdir(exist_ok=True)
            self.index.save(partial[0])
            payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
            sealed = {"checksum": checksum(payload, partial[0]), "payload": payload}
            with partial[1].open("wb") as fh:
                pickle.dump(sealed, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(partial[0], folder / GRAPH)
            os.replace(partial[1], folder / STATE)
        except (OSError, RuntimeError) as exc:  # faiss reports a failed write as RuntimeError
            for path in partial:
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)
            why = str(exc).splitlines()[-1].rsplit("failed: ", 1)[-1]  # faiss says where first
            log.warning(
                "cannot save the index snapshot in %s (%s); the next open reads the "
                "records instead",
                folder,
                why,
            )
            return
        self.dirty = False


GRAPH, STATE = "hnsw.faiss", "state.pkl"
REBUILD = "rebuilding it from the records"


def _digest(payload: bytes, graph: Path) -> str:
    """The blake2b digest snapshots were sealed with before `checksum` (still checked when
    read: a store saved by an older likewise opens without a rebuild, once slowly)."""
    digest = hashlib.blake2b(payload, digest_size=32)
    with graph.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _read_state(state_file: Path, graph: Path) -> dict[str, Any]:
    """The state saved beside `graph`, once its seal is checked: one checksum over the state
    and the graph file, so a damaged file, or a pair that was not written together (a crash
    between the two renames), does not match (snapshots written before seals were kept are
    the state itself; those sealed by a blake2b digest are checked by it)."""
    with state_file.open("rb") as fh:
        sealed = _Unpickler(fh).load()
    if "payload" not in sealed:
        return dict(sealed)
    if "checksum" in sealed:
        matches = sealed["checksum"] == checksum(sealed["payload"], graph)
    else:
        matches = sealed["digest"] == _digest(sealed["payload"], graph)
    if not matches:
        raise StoreError("its files do not match the digest saved with them")
    return dict(_Unpickler(io.BytesIO(sealed["payload"])).load())


_MOVED = {"likewise.store.columns": "likewise.store.embedded.columns"}


class _Unpickler(pickle.Unpickler):
    """Reads snapshots written before the store's modules moved into `store/embedded/`."""

    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(_MOVED.get(module, module), name)
