"""The embedded store's shadow of the `text` space (see `store/shadow.py`).

The shadow is a space of its own (`vectors__next`, `kills__next`) that no search sees, with
an index built as its rows come in, as every space's is. Writes of items keep it in step:
a changed item's shadow vector moves to a new label with its new metadata, and is dropped
when its text changed (`catalog.upsert`). The swap renames the shadow's tables to the text
space's in one transaction, and each process adopts the index it already holds for them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from likewise.errors import Conflict
from likewise.store.base import TEXT, Space
from likewise.store.checks import check_vectors
from likewise.store.embedded.ann import AnnConfig
from likewise.store.embedded.catalog import rows_in
from likewise.store.embedded.meta import Meta, info_meta, read_meta, set_meta
from likewise.store.embedded.space import SpaceIndex, create_tables, space_tables
from likewise.store.shadow import PROFILE_TABLES, SHADOW, Shadow, ShadowRow

__all__ = ["ShadowSpace", "shadow_space"]

T = TypeVar("T")


def shadow_space(meta: Meta) -> Space | None:
    """The shadow as a space of the store's metric, None if there is none."""
    if meta.shadow is None or meta.info is None:
        return None
    return Space(SHADOW, meta.shadow.dim, meta.info.metric)


class ShadowSpace:
    """The shadow methods of `EmbeddedStore` (a mixin: it provides the attributes below)."""

    _meta: Meta
    _ann: AnnConfig
    _spaces: dict[str, SpaceIndex]
    _shadow: SpaceIndex | None
    _rdb: sqlite3.Connection
    _rsql: threading.RLock

    def _write(self, change: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError

    def _refresh(self) -> None:
        raise NotImplementedError

    # -- the Store methods ------------------------------------------------------------------

    def shadow(self) -> Shadow | None:
        self._refresh()
        return self._meta.shadow

    def begin_shadow(self, shadow: Shadow) -> None:
        def begin(db: sqlite3.Connection) -> None:
            meta = read_meta(db)
            if meta.info is None:
                raise Conflict("the store has no model yet", field="model")
            if meta.shadow == shadow:
                return
            if meta.shadow is not None:
                raise Conflict(
                    f"a reembed with {meta.shadow.model_id} is unfinished", field="model"
                )
            _drop_tables(db)
            create_tables(db, SHADOW)
            # A generation no earlier shadow had: a process that held one rebuilds its index.
            set_meta(
                db,
                {
                    "shadow": json.dumps({"model_id": shadow.model_id, "dim": shadow.dim}),
                    f"gen:{SHADOW}": str(time.time_ns()),
                },
            )

        self._write(begin)

    def put_shadow(self, rows: Sequence[ShadowRow]) -> int:
        def put(db: sqlite3.Connection) -> int:
            space = shadow_space(read_meta(db))
            if space is None:
                raise Conflict("no reembed is in progress", field="model")
            vectors = check_vectors(space, {r.id: r.vector for r in rows})
            stored = dict(rows_in(db, "SELECT id, content_hash FROM items WHERE id", list(vectors)))
            index = SpaceIndex(space, self._ann)  # its tables are all a write needs
            first = label = index.next_label(db)
            for row in rows:
                if stored.get(row.id) != row.content_hash:
                    continue  # deleted, or changed since it was read: embedded again later
                index.retire(db, row.id)
                index.insert(db, label, row.id, np.asarray(vectors[row.id]).tobytes())
                label += 1
            return label - first

        return self._write(put)

    def shadow_missing(self) -> list[str]:
        vectors = space_tables(SHADOW)[0]
        with self._rsql:
            if (
                self._rdb.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (vectors,)
                ).fetchone()
                is None
            ):
                return [r[0] for r in self._rdb.execute("SELECT id FROM items ORDER BY id")]
            return [
                r[0]
                for r in self._rdb.execute(
                    f"SELECT id FROM items WHERE id NOT IN (SELECT item_id FROM {vectors} "
                    "WHERE vector IS NOT NULL) ORDER BY id"
                )
            ]

    def swap_shadow(self) -> None:
        def swap(db: sqlite3.Connection) -> None:
            meta = read_meta(db)
            if meta.shadow is None or meta.info is None:
                raise Conflict("no reembed is in progress", field="model")
            vectors, kills = space_tables(SHADOW)
            (missing,) = db.execute(
                f"SELECT COUNT(*) FROM items WHERE id NOT IN (SELECT item_id FROM {vectors} "
                "WHERE vector IS NOT NULL)"
            ).fetchone()
            if missing:
                raise Conflict(f"{missing} items have no vector from the new model yet")
            db.execute("DROP TABLE vectors")  # its index goes with it
            db.execute("DROP TABLE kills")
            db.execute(f"DROP INDEX idx_{vectors}_item")
            db.execute(f"ALTER TABLE {vectors} RENAME TO vectors")
            db.execute(f"ALTER TABLE {kills} RENAME TO kills")
            create_tables(db, TEXT)  # the item index, under the text space's name
            # Each item's label is its live shadow label; two steps, as labels are UNIQUE.
            db.execute(
                "UPDATE items SET label = -1 - (SELECT v.label FROM vectors v "
                "WHERE v.item_id = items.id AND v.vector IS NOT NULL)"
            )
            db.execute("UPDATE items SET label = -1 - label")
            info = meta.info
            new = info_meta(info) | {"model_id": meta.shadow.model_id, "dim": str(meta.shadow.dim)}
            set_meta(db, new | {"generation": str(meta.generation(SHADOW))})
            db.execute("DELETE FROM meta WHERE key IN ('shadow', ?)", (f"gen:{SHADOW}",))
            for table in PROFILE_TABLES:  # vectors of the old model: rebuilt from the events
                db.execute(f"DELETE FROM {table} WHERE space = ?", (TEXT,))

        self._write(swap)

    def drop_shadow(self) -> None:
        def drop(db: sqlite3.Connection) -> None:
            _drop_tables(db)
            db.execute("DELETE FROM meta WHERE key IN ('shadow', ?)", (f"gen:{SHADOW}",))

        self._write(drop)

    # -- the in-memory index ----------------------------------------------------------------

    def _sync_shadow(self, meta: Meta) -> SpaceIndex | None:
        """Before the spaces catch up with `meta`: a swapped shadow's index becomes the text
        space's (its rows are the text tables now). Returns the shadow's index to catch up,
        a fresh one if it is new, None if there is no shadow."""
        held = self._shadow
        if held is not None and meta.shadow is None:
            self._shadow = None
            if meta.generation(TEXT) == held.generation:  # swapped, not dropped
                held.space = meta.spaces[TEXT]
                held.vectors_table, held.kills_table = space_tables(TEXT)
                held.dirty = True  # saved as the text space's snapshot at close
                self._spaces[TEXT] = held
        space = shadow_space(meta)
        if space is None:
            return None
        if held is None or held.space != space or self._shadow is None:
            self._shadow = SpaceIndex(space, self._ann)
        return self._shadow

    def _shadow_index(self, db: sqlite3.Connection) -> list[SpaceIndex]:
        """The shadow's index (for its tables) as the open transaction sees it, if any."""
        space = shadow_space(read_meta(db))
        if space is None:
            return []
        held = self._shadow
        return [held if held is not None and held.space == space else SpaceIndex(space, self._ann)]


def _drop_tables(db: sqlite3.Connection) -> None:
    for table in space_tables(SHADOW):
        db.execute(f"DROP TABLE IF EXISTS {table}")
