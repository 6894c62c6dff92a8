"""Forgetting a user in every process: the store's forget mark and the tombstones.

A list is begun at some value of the forget mark, a counter every forget raises in its own
transaction (never a clock, so hosts whose clocks differ agree). The impression carries that
mark; a tombstone (the SHA-256 of the id, never the id, with the mark the forget raised)
keeps out an impression of the user begun before the forget, which another process may
still have in its queue when the forget commits, or may still be computing. Tombstones are
kept for an hour, far longer than any process holds an impression, then deleted.
"""

from __future__ import annotations

import hashlib
import time

from likewise.store.sql.query import Sql

__all__ = ["FORGET_HORIZON", "MARK", "NO_MARK", "forget_mark", "mark_of", "tombstone", "user_key"]

FORGET_HORIZON = 3600.0
NO_MARK = 2**62  # an impression with no mark is older than no forget: always kept
MARK = "SELECT value FROM meta WHERE key = 'forget_seq'"  # the mark's row (none before a forget)


def user_key(user_id: str) -> str:
    """What a tombstone keeps of a forgotten user: a digest, never the id itself."""
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()


def forget_mark(db: Sql) -> int:
    """The number of forgets the store has seen: read when a list is begun (its cached
    copies and its impression are good only while the mark is the same)."""
    row = db.execute(MARK).fetchone()
    return mark_of(None if row is None else row[0])


def mark_of(value: str | None) -> int:
    """The forget mark of what `MARK` read (no row: no forget yet)."""
    return 0 if value is None else int(value)


def tombstone(db: Sql, user_id: str) -> int:
    """Raise the forget mark and leave the user's tombstone at it (inside the forget's
    transaction, under the lock that orders it with impression writes); returns the mark."""
    db.execute(
        "INSERT INTO meta(key, value) VALUES ('forget_seq', '1') ON CONFLICT(key) "
        "DO UPDATE SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT)"
    )
    mark = forget_mark(db)
    now = time.time()
    db.execute("DELETE FROM forgotten WHERE at < {p}", (now - FORGET_HORIZON,))
    db.execute(
        "INSERT INTO forgotten(user_key, seq, at) VALUES ({p}, {p}, {p}) "
        "ON CONFLICT(user_key) DO UPDATE SET seq = excluded.seq, at = excluded.at",
        (user_key(user_id), mark, now),
    )
    return mark
