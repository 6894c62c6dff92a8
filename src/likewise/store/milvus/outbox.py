"""Writes to PostgreSQL and Milvus ordered so that a crash between them is repaired.

A write commits in PostgreSQL first, with one row per change in `vectors_pending` (the vector
itself, as float32 bytes, or a mark that the item's fields changed or that it was deleted).
Then `drain` sends every pending row to Milvus, in order, and deletes the rows it sent. A
process killed in between leaves the rows behind, and the next store opened on the database
drains them: the vectors are never only in the memory of a process that died.

`drain` holds an advisory lock, so two servers never send the same item's changes out of
order, and reads each item's fields and existence from PostgreSQL as they are now: sending a
row twice writes the same entity twice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from psycopg import Connection

from likewise.filters import filterable
from likewise.store.base import Space, Vector
from likewise.store.milvus.collections import MilvusSpaces
from likewise.store.milvus.expr import fields_doc

__all__ = ["CREATE", "HOLD", "PREFIX_KEY", "drain", "hold", "pend"]

OUTBOX_LOCK = 0x6D696C76  # "milv": held while pending rows are sent
PREFIX_KEY = "milvus_prefix"  # meta: the store's collections are named `{prefix}_{space}`
# Created on open (not a numbered migration: a store without Milvus never has it).
CREATE = """
CREATE TABLE IF NOT EXISTS vectors_pending (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id TEXT NOT NULL,
    kind CHAR(1) NOT NULL,  -- 'v' a vector in `space`, 'f' fields changed, 'd' deleted
    space TEXT,
    vector BYTEA)
"""
# A test's hook: set to a file path, a write stops after PostgreSQL's commit, creates the
# file, and waits to be killed there, before anything reaches Milvus.
HOLD = "LIKEWISE_TEST_HOLD_BEFORE_MILVUS"
BATCH = 5_000


def pend(
    conn: Connection[Any],
    *,
    vectors: Mapping[str, Vector] | None = None,
    space: str = "",
    changed: Sequence[str] = (),
    deleted: Sequence[str] = (),
) -> None:
    """Queue, in the caller's transaction, `vectors` of `space`, items whose fields
    `changed` and items `deleted`."""
    rows: list[tuple[str, str, str | None, bytes | None]] = [
        (i, "v", space, np.asarray(v, np.float32).tobytes()) for i, v in (vectors or {}).items()
    ]
    rows += [(i, "f", None, None) for i in changed]
    rows += [(i, "d", None, None) for i in deleted]
    if rows:
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO vectors_pending (item_id, kind, space, vector) "
                "VALUES (%s, %s, %s, %s)",
                rows,
            )


def hold() -> None:
    """The crash test's pause between the two writes (a no-op unless `HOLD` is set)."""
    path = os.environ.get(HOLD)
    if path:
        with open(path, "w") as marker:
            marker.write(str(os.getpid()))
        while True:
            time.sleep(1)


def drain(conn: Connection[Any], milvus: MilvusSpaces, spaces: Mapping[str, Space]) -> int:
    """Send every pending row to Milvus, a batch per transaction; returns how many were sent."""
    sent = 0
    while True:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (OUTBOX_LOCK,))
            rows = conn.execute(
                "SELECT seq, item_id, kind, space, vector FROM vectors_pending ORDER BY seq "
                "LIMIT %s",
                (BATCH,),
            ).fetchall()
            if not rows:
                return sent
            _send(conn, milvus, spaces, rows)
            conn.execute("DELETE FROM vectors_pending WHERE seq = ANY(%s)", ([r[0] for r in rows],))
        sent += len(rows)


def _send(
    conn: Connection[Any],
    milvus: MilvusSpaces,
    spaces: Mapping[str, Space],
    rows: Sequence[tuple[int, str, str, str | None, bytes | None]],
) -> None:
    """One batch: deletions first, then the fields of changed items in the spaces where they
    keep their vector, then the new vectors (the last of each item and space wins; a deletion
    voids the vectors queued before it)."""
    ids = list(dict.fromkeys(r[1] for r in rows))
    found = conn.execute("SELECT id, record FROM items WHERE id = ANY(%s)", (ids,)).fetchall()
    docs = {i: fields_doc(filterable(record)) for i, record in found}
    gone: set[str] = {i for i in ids if i not in docs}
    changed: set[str] = set()
    latest: dict[tuple[str, str], bytes] = {}
    for _, item, kind, space, vector in rows:
        if kind == "d":
            gone.add(item)
            latest = {k: v for k, v in latest.items() if k[0] != item}
        elif kind == "f":
            changed.add(item)
        elif space is not None and vector is not None:
            latest[(item, space)] = vector
    for target in spaces.values():
        milvus.ensure(target, replace=True)  # `spaces` were read afresh: a new model's dim
        if gone:
            milvus.delete(target, sorted(gone))
        renewed = {i for (i, s) in latest if s == target.name}
        stale = sorted(i for i in changed if i in docs and i not in renewed)
        rows_out = [(i, v, docs[i]) for i, v in milvus.vectors(target, stale).items()] + [
            (i, np.frombuffer(v, np.float32).copy(), docs[i])
            for (i, s), v in latest.items()
            if s == target.name and i in docs
        ]
        if rows_out:
            milvus.upsert(target, rows_out)
