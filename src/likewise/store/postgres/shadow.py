"""The PostgreSQL store's shadow of the `text` space (see `store/shadow.py`).

The shadow is the column `items.embedding_next` (migration 7), filled by `put_shadow` one
statement per batch and kept by every upsert unless the item's text changed (then it is set
to NULL, `catalog.upsert`). Its HNSW index is built in bulk once every item has a vector, in
its own transaction (searches go on; writes wait), which is faster than keeping it row by
row (bench/reembed.py). The swap is then DDL in one transaction: the old column and its
index are dropped and the shadow's renamed in their place, so that index serves the first
query. Dropping and adding a column rewrite nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from pgvector import Vector as PgVector
from psycopg import Connection, DataError

from likewise.errors import Conflict, InvalidInput
from likewise.store.base import TEXT, Space, StoreInfo, Vector
from likewise.store.checks import check_query, check_vectors
from likewise.store.postgres.catalog import normalised, read_meta
from likewise.store.postgres.search import OPS, PgConfig
from likewise.store.shadow import PROFILE_TABLES, SHADOW, Shadow, ShadowRow

__all__ = ["ShadowColumn"]


def _read_shadow(conn: Connection[Any]) -> tuple[StoreInfo | None, Shadow | None]:
    info = read_meta(conn)[0]
    row = conn.execute("SELECT value FROM meta WHERE key = 'shadow'").fetchone()
    found = None if row is None else json.loads(row[0])
    return info, None if found is None else Shadow(found["model_id"], int(found["dim"]))


def _complete_shadow(conn: Connection[Any]) -> tuple[StoreInfo, Shadow]:
    """The store's info and the shadow, once a reembed is in progress and every item has its
    new vector; else a Conflict saying which is not so. Checked before the index is built and
    again in the swap's transaction, since items may be written in between."""
    info, found = _read_shadow(conn)
    if info is None or found is None:
        raise Conflict("no reembed is in progress", field="model")
    row = conn.execute("SELECT COUNT(*) FROM items WHERE embedding_next IS NULL")
    missing = next(iter(row))[0]
    if missing:
        raise Conflict(f"{missing} items have no vector from the new model yet")
    return info, found


def _fresh_column(conn: Connection[Any], dim: int | None) -> None:
    """An empty `embedding_next` (of `dim` numbers; untyped with None), with no index."""
    conn.execute("DROP INDEX IF EXISTS items_hnsw_next")
    conn.execute("ALTER TABLE items DROP COLUMN IF EXISTS embedding_next")
    kind = "vector" if dim is None else f"vector({int(dim)})"
    conn.execute(f"ALTER TABLE items ADD COLUMN embedding_next {kind}")


class ShadowColumn:
    """The shadow methods of `PostgresStore` (a mixin: it provides the methods below)."""

    config: PgConfig

    def _read(self) -> AbstractContextManager[Connection[Any]]:
        raise NotImplementedError

    def _write(
        self, *, catalog: bool = False, exclusive: bool = True
    ) -> AbstractContextManager[Connection[Any]]:
        raise NotImplementedError

    def _refresh_meta(self) -> None:
        raise NotImplementedError

    def _space(self, name: str) -> Space:
        raise NotImplementedError

    # -- a swap made by another server ------------------------------------------------------

    def _query(self, space: str, vector: Vector, n: int) -> tuple[Space, Vector]:
        """The space searched and the query vector checked against it; a vector of another
        dimension is checked again after reading the model afresh, as another server may
        have swapped in a reembed since this one last looked (`META_SECONDS`)."""
        try:
            target = self._space(space)
            return target, check_query(target, vector, n)
        except InvalidInput as exc:
            if exc.field != "vector":
                raise
        self._refresh_meta()
        target = self._space(space)
        return target, check_query(target, vector, n)

    @contextmanager
    def _same_dim(self, space: Space) -> Iterator[None]:
        """A query of the dimension this server knew, met by the column of a model another
        server has swapped in: InvalidInput naming `vector` (as a wrong dimension is), with
        the model read afresh, so the caller's next look at `info` sees the new one."""
        try:
            yield
        except DataError as exc:
            if "different vector dimensions" not in str(exc):
                raise
            self._refresh_meta()
            raise InvalidInput(
                f"the store's model changed; must be {self._space(space.name).dim} numbers",
                field="vector",
            ) from exc

    def shadow(self) -> Shadow | None:
        with self._read() as conn:
            return _read_shadow(conn)[1]

    def begin_shadow(self, shadow: Shadow) -> None:
        with self._write() as conn:
            info, found = _read_shadow(conn)
            if info is None:
                raise Conflict("the store has no model yet", field="model")
            if found == shadow:
                return
            if found is not None:
                raise Conflict(f"a reembed with {found.model_id} is unfinished", field="model")
            _fresh_column(conn, shadow.dim)
            conn.execute(
                "INSERT INTO meta(key, value) VALUES ('shadow', %s)",
                (json.dumps({"model_id": shadow.model_id, "dim": shadow.dim}),),
            )

    def put_shadow(self, rows: Sequence[ShadowRow]) -> int:
        with self._write() as conn:
            info, found = _read_shadow(conn)
            if info is None or found is None:
                raise Conflict("no reembed is in progress", field="model")
            space = Space(SHADOW, found.dim, info.metric)
            vectors = normalised(space, check_vectors(space, {r.id: r.vector for r in rows}))
            given = {r.id: r for r in rows}  # one row per item: the last given
            cursor = conn.execute(
                "UPDATE items i SET embedding_next = v.e::vector FROM unnest(%s::text[], "
                "%s::text[], %s::text[]) AS v(id, h, e) WHERE i.id = v.id AND i.content_hash = v.h",
                (
                    list(given),
                    [r.content_hash for r in given.values()],
                    [PgVector(vectors[i]).to_text() for i in given],
                ),
            )
            return cursor.rowcount

    def shadow_missing(self) -> list[str]:
        with self._read() as conn:
            rows = conn.execute(
                'SELECT id FROM items WHERE embedding_next IS NULL ORDER BY id COLLATE "C"'
            )
            return [r[0] for r in rows]

    def swap_shadow(self) -> None:
        with self._write() as conn:  # the index first, in bulk (faster than row by row)
            info, found = _complete_shadow(conn)
            # Searches go on while it is built (it holds back writes alone).
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS items_hnsw_next ON items USING hnsw "
                f"(embedding_next {OPS[info.metric]}) WITH (m = {int(self.config.m)}, "
                f"ef_construction = {int(self.config.ef_construction)})"
            )
        with self._write(catalog=True) as conn:
            info, found = _complete_shadow(conn)
            conn.execute("DROP INDEX IF EXISTS items_hnsw")
            conn.execute("ALTER TABLE items DROP COLUMN embedding")
            conn.execute("ALTER TABLE items RENAME COLUMN embedding_next TO embedding")
            conn.execute("ALTER INDEX items_hnsw_next RENAME TO items_hnsw")
            conn.execute("ALTER TABLE items ADD COLUMN embedding_next vector")
            conn.execute(
                "UPDATE meta SET value = CASE key WHEN 'model_id' THEN %s ELSE %s END "
                "WHERE key IN ('model_id', 'dim')",
                (found.model_id, str(found.dim)),
            )
            conn.execute("DELETE FROM meta WHERE key = 'shadow'")
            for table in PROFILE_TABLES:  # vectors of the old model: rebuilt from the events
                conn.execute(f"DELETE FROM {table} WHERE space = %s", (TEXT,))
        self._refresh_meta()

    def drop_shadow(self) -> None:
        with self._write() as conn:
            if _read_shadow(conn)[1] is not None:
                _fresh_column(conn, None)
                conn.execute("DELETE FROM meta WHERE key = 'shadow'")
