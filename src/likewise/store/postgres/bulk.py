"""A whole catalog loaded into an empty PostgreSQL store at once (`likewise copy`, a first
import): COPY instead of INSERT, and each HNSW index built once after the rows.

Inserting row by row into a live HNSW index costs a graph search per row; building the
graph over all rows at the end, with `maintenance_work_mem` large enough to hold it, is
several times faster (bench/bulk_load.py). The load is one transaction: a crash part way
leaves the store as it was (and a copy's destination marked unfinished), never half loaded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from pgvector import Vector as PgVector
from psycopg import Connection
from psycopg.types.json import Jsonb

from likewise.errors import Conflict, InvalidInput
from likewise.filters import filterable
from likewise.store.base import TEXT, Entry, Space, StoreInfo, Vector
from likewise.store.checks import check_vectors
from likewise.store.postgres.catalog import hnsw, normalised
from likewise.store.postgres.filter import filter_columns, number_rows
from likewise.store.postgres.search import PgConfig

__all__ = ["LOAD_MEMORY", "Batch", "BulkLoad"]

LOAD_MEMORY = "1GB"  # maintenance_work_mem for the index builds: the graph fits in memory
# One batch: items with their text vectors, and their vectors in other spaces by space.
Batch = tuple[Sequence[Entry], Mapping[str, Mapping[str, Vector]]]
ITEM_COLUMNS = (
    "id, seq, model_id, content_hash, record_hash, record, fkeys, franges, embedding, updated_at"
)
ITEM_TYPES = ["text", "int8", "text", "text", "text", "jsonb", "jsonb", "jsonb", "vector", "float8"]


def _as_is(text: Any) -> str:
    return str(text)  # already JSON text


class BulkLoad:
    """`bulk_load`, for :class:`~likewise.store.postgres.store.PostgresStore`."""

    config: PgConfig

    def _write(
        self, *, catalog: bool = False, exclusive: bool = True
    ) -> AbstractContextManager[Connection[Any]]:
        raise NotImplementedError

    def _require_info(self) -> StoreInfo:
        raise NotImplementedError

    def spaces(self) -> dict[str, Space]:
        raise NotImplementedError

    def bulk_load(self, batches: Iterable[Batch]) -> int:
        """Write every item of `batches` into this store, which must have none yet, in one
        transaction; returns how many. Each item needs its text vector; the vectors of the
        other spaces (which must exist) are optional. The HNSW indexes are dropped and built
        once at the end."""
        info = self._require_info()
        spaces = self.spaces()
        with self._write(catalog=True) as conn:
            if conn.execute("SELECT EXISTS (SELECT 1 FROM items)").fetchone() != (True,):
                return _load(conn, info, spaces, batches, self.config)
            raise Conflict("bulk_load needs a store with no items", field="items")


def _load(
    conn: Connection[Any],
    info: StoreInfo,
    spaces: Mapping[str, Space],
    batches: Iterable[Batch],
    config: PgConfig,
) -> int:
    conn.execute(f"SET LOCAL maintenance_work_mem = '{LOAD_MEMORY}'")
    conn.execute("DROP INDEX IF EXISTS items_hnsw")
    for name in spaces.keys() - {TEXT}:
        conn.execute(f"DROP INDEX IF EXISTS hnsw_space_{name}")
    row = conn.execute("SELECT nextval('item_seq')").fetchone()
    seq = int(row[0]) if row else 1
    seen: set[str] = set()
    numbers: list[tuple[str, str, float, str, int]] = []
    others: dict[str, list[tuple[str, Vector]]] = {n: [] for n in spaces.keys() - {TEXT}}
    now = time.time()
    with conn.cursor() as cursor:
        with cursor.copy(f"COPY items ({ITEM_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(ITEM_TYPES)
            for entries, vectors in batches:
                for row_, item_numbers in _item_rows(info, entries, seq, now, seen):
                    copy.write_row(row_)
                    numbers += item_numbers
                seq += len(entries)
                for name, found in vectors.items():
                    if name not in others:
                        known = ", ".join(others)
                        raise InvalidInput(f"unknown space {name!r}; known: {known}", field="space")
                    checked = check_vectors(spaces[name], found)
                    others[name] += normalised(spaces[name], checked).items()
        with cursor.copy("COPY item_numbers (field, kind, value, item_id, seq) FROM STDIN") as copy:
            for number in numbers:
                copy.write_row(number)
        for name, rows in others.items():
            missing = sorted({i for i, _ in rows} - seen)
            if missing:
                raise InvalidInput(f"unknown item {missing[0]!r}", field="vectors")
            with cursor.copy(
                f"COPY space_{name} (item_id, embedding) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["text", "vector"])
                for item_id, vector in rows:
                    copy.write_row((item_id, PgVector(vector)))
    conn.execute("SELECT setval('item_seq', %s)", (max(seq - 1, 1),))
    hnsw(conn, "items_hnsw", "items", "embedding", info.text, config)
    for name in others:
        hnsw(conn, f"hnsw_space_{name}", f"space_{name}", "embedding", spaces[name], config)
    conn.execute("ANALYZE items")
    return len(seen)


def _item_rows(
    info: StoreInfo, entries: Sequence[Entry], seq: int, now: float, seen: set[str]
) -> Iterator[tuple[tuple[Any, ...], list[tuple[str, str, float, str, int]]]]:
    """Each entry's `items` row and its `item_numbers` rows."""
    given = {e.item.id: e.vector for e in entries if e.vector is not None}
    vectors = normalised(info.text, check_vectors(info.text, given))
    for k, entry in enumerate(entries):
        item_id = entry.item.id
        if item_id in seen:
            raise InvalidInput(f"item {item_id!r} is given twice", field="items")
        if item_id not in vectors:
            raise InvalidInput(f"item {item_id!r} is new and has no vector", field="vector")
        seen.add(item_id)
        record = entry.item.to_record()
        fields = filterable(record)
        fkeys, franges = filter_columns(fields)
        row = (
            item_id,
            seq + k,
            info.model_id,
            entry.content_hash,
            entry.item.record_hash(),
            Jsonb(json.dumps(record, ensure_ascii=False), dumps=_as_is),
            Jsonb(fkeys, dumps=_as_is),
            Jsonb(franges, dumps=_as_is),
            PgVector(vectors[item_id]),
            now,
        )
        yield row, [(*n, seq + k) for n in number_rows(item_id, fields)]
