"""The PostgreSQL store's catalog writes: items, the text vectors in `items.embedding`, and
each other space's vectors in a table of its own (`space_NAME`), inside the caller's
transaction."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pgvector import Vector as PgVector
from psycopg import Connection

from likewise.errors import InvalidInput, StoreError
from likewise.filters import filterable
from likewise.store.base import TEXT, Entry, Space, StoreInfo, Vector
from likewise.store.postgres.filter import filter_columns, number_rows
from likewise.store.postgres.schema import insert_numbers
from likewise.store.postgres.search import OPS, PgConfig

__all__ = [
    "HNSW_DIM",
    "HNSW_WHY",
    "add_space",
    "hnsw",
    "normalised",
    "put_vectors",
    "read_meta",
    "replace_text",
    "set_info",
    "upsert",
]


def normalised(space: Space, vectors: Mapping[str, Vector]) -> dict[str, Vector]:
    """Unit rows for a cosine space (pgvector's cosine index wants them), else as given."""
    if space.metric != "cosine":
        return dict(vectors)
    out = {}
    for item_id, vector in vectors.items():
        norm = float(np.linalg.norm(vector))
        out[item_id] = vector / norm if norm > 0 else vector
    return out


# pgvector's HNSW index takes `vector` columns of at most 2,000 dimensions: a wider space
# is refused by name before any table is made (the database would refuse its index).
HNSW_DIM = 2_000
HNSW_WHY = " (pgvector's HNSW index takes at most 2,000)"


def hnsw(
    conn: Connection[Any], name: str, table: str, column: str, space: Space, config: PgConfig
) -> None:
    """Build the HNSW index `name` of a vector column, in the ops class of its metric."""
    conn.execute(
        f"CREATE INDEX {name} ON {table} USING hnsw ({column} {OPS[space.metric]}) "
        f"WITH (m = {int(config.m)}, ef_construction = {int(config.ef_construction)})"
    )


def read_meta(conn: Connection[Any]) -> tuple[StoreInfo | None, dict[str, Space]]:
    """What the store was built with (None before `initialize`) and its spaces, `text` first."""
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if "model_id" not in meta:
        return None, {}
    metric: Any = meta.get("metric", "cosine")
    info = StoreInfo(meta["model_id"], int(meta["dim"]), metric, meta.get("template", ""))
    others = json.loads(meta.get("spaces", "{}"))
    return info, {TEXT: info.text} | {n: Space(n, s["dim"], s["metric"]) for n, s in others.items()}


def set_info(conn: Connection[Any], info: StoreInfo, config: PgConfig) -> None:
    """Record `info` and (re)build the text vector column and its index for its dim and metric."""
    conn.execute(
        "INSERT INTO meta(key, value) SELECT * FROM unnest(%s::text[], %s::text[]) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (
            ["model_id", "dim", "metric", "template"],
            [info.model_id, str(info.dim), info.metric, info.template],
        ),
    )
    conn.execute("DROP INDEX IF EXISTS items_hnsw")
    conn.execute(f"ALTER TABLE items ALTER COLUMN embedding TYPE vector({int(info.dim)})")
    hnsw(conn, "items_hnsw", "items", "embedding", info.text, config)


def add_space(
    conn: Connection[Any], space: Space, others: Mapping[str, Space], config: PgConfig
) -> None:
    """Create a space's table and index, and record it among `others` (the spaces besides text)."""
    # The index and key are named with prefixes no table has: no space name can collide.
    conn.execute(
        f"CREATE TABLE space_{space.name} (item_id TEXT REFERENCES items (id) "
        f"ON DELETE CASCADE, embedding vector({int(space.dim)}) NOT NULL, "
        f"CONSTRAINT pk_space_{space.name} PRIMARY KEY (item_id))"
    )
    hnsw(conn, f"hnsw_space_{space.name}", f"space_{space.name}", "embedding", space, config)
    known = {
        n: {"dim": s.dim, "metric": s.metric} for n, s in {**others, space.name: space}.items()
    }
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('spaces', %s) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (json.dumps(known),),
    )


def upsert(
    conn: Connection[Any],
    info: StoreInfo,
    entries: Sequence[Entry],
    vectors: Mapping[str, Vector],
    *,
    keep_vectors: bool = True,
) -> None:
    """Write items; an entry without a vector keeps the one its item has (new ones must
    bring one), and a reembed's vector of it (dropped with a new text vector). Their numbers
    and dates are indexed again for range filters. With `keep_vectors` False the vectors are
    only checked: they are kept elsewhere (Milvus, `store/milvus`)."""
    missing = {e.item.id for e in entries if e.item.id not in vectors}
    if missing:
        known = conn.execute("SELECT id FROM items WHERE id = ANY(%s)", (list(missing),)).fetchall()
        new = sorted(missing - {r[0] for r in known})
        if new:
            raise InvalidInput(f"item {new[0]!r} is new and has no vector", field="vector")
    now = time.time()
    rows = []
    for entry in entries:
        record = entry.item.to_record()
        fkeys, franges = filter_columns(filterable(record))
        vector = vectors.get(entry.item.id)
        rows.append(
            {
                "id": entry.item.id,
                "model": info.model_id,
                "content": entry.content_hash,
                "record_hash": entry.item.record_hash(),
                "record": json.dumps(record, ensure_ascii=False),
                "fkeys": fkeys,
                "franges": franges,
                "vector": None if vector is None or not keep_vectors else PgVector(vector),
                "now": now,
            }
        )
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO items AS t (id, seq, model_id, content_hash, record_hash, "
            "record, fkeys, franges, embedding, updated_at) VALUES (%(id)s, "
            "nextval('item_seq'), %(model)s, %(content)s, %(record_hash)s, %(record)s, "
            "%(fkeys)s, %(franges)s, %(vector)s, %(now)s) ON CONFLICT (id) DO UPDATE SET "
            "seq = excluded.seq, model_id = excluded.model_id, "
            "content_hash = excluded.content_hash, record_hash = excluded.record_hash, "
            "record = excluded.record, fkeys = excluded.fkeys, "
            "franges = excluded.franges, updated_at = excluded.updated_at, "
            "embedding = COALESCE(excluded.embedding, t.embedding), "
            "embedding_next = CASE WHEN excluded.embedding IS NULL THEN t.embedding_next END",
            rows,
        )
        cursor.execute(
            "DELETE FROM item_numbers WHERE item_id = ANY(%s)", ([e.item.id for e in entries],)
        )
    insert_numbers(
        conn,
        [
            x
            for e in {e.item.id: e for e in entries}.values()
            for x in number_rows(e.item.id, filterable(e.item.to_record()))
        ],
    )


def put_vectors(conn: Connection[Any], space: Space, vectors: Mapping[str, Vector]) -> None:
    """Set stored items' vectors in a space (InvalidInput if an item is unknown)."""
    ids = list(vectors)
    known = {
        r[0] for r in conn.execute("SELECT id FROM items WHERE id = ANY(%s)", (ids,)).fetchall()
    }
    missing = sorted(set(ids) - known)
    if missing:
        raise InvalidInput(f"unknown item {missing[0]!r}", field="vectors")
    with conn.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO space_{space.name} (item_id, embedding) VALUES (%s, %s) "
            "ON CONFLICT (item_id) DO UPDATE SET embedding = excluded.embedding",
            [(i, PgVector(v)) for i, v in normalised(space, vectors).items()],
        )


def replace_text(
    conn: Connection[Any], info: StoreInfo, entries: Sequence[Entry], config: PgConfig
) -> None:
    """Swap every text vector (a new model) and rebuild the text index."""
    vectors = normalised(info.text, {e.item.id: e.vector for e in entries if e.vector is not None})
    stored = {r[0] for r in conn.execute("SELECT id FROM items").fetchall()}
    if stored != {e.item.id for e in entries} or len(vectors) != len(entries):
        raise StoreError("replace_all needs a new vector for every stored item")
    conn.execute("DROP INDEX IF EXISTS items_hnsw")
    conn.execute("ALTER TABLE items ALTER COLUMN embedding TYPE vector USING NULL")
    with conn.cursor() as cursor:
        cursor.executemany(
            "UPDATE items SET embedding = %s, content_hash = %s, model_id = %s WHERE id = %s",
            [
                (PgVector(vectors[e.item.id]), e.content_hash, info.model_id, e.item.id)
                for e in entries
            ],
        )
    set_info(conn, info, config)
