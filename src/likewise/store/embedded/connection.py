"""The embedded store's SQLite connections, and the one way it writes: a transaction that is
all or nothing even when the disk fills up under it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["connect", "transaction"]


def connect(folder: Path) -> sqlite3.Connection:
    db = sqlite3.connect(
        folder / "likewise.db", isolation_level=None, check_same_thread=False, timeout=30
    )
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # durable before a write returns
    # Checkpoint every ~64 MB of WAL, not 4 MB: hot pages (profiles) are copied back once per
    # checkpoint instead of once per batch (measured in bench/events.py).
    db.execute("PRAGMA wal_autocheckpoint=16000")
    db.execute("PRAGMA secure_delete=ON")  # a forgotten user's rows are zeroed, not freed
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error: all or nothing.

    A COMMIT can fail too (a full disk, an I/O error): SQLite may then have rolled back by
    itself or may still hold the transaction open. Either way it is rolled back here, so the
    next write starts clean instead of meeting "cannot start a transaction within a
    transaction", and the caller sees the error that stopped the write, not a failed ROLLBACK.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
