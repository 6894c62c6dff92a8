"""An embedded store's database copied as of one commit while other processes write to it."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

from likewise.backup.files import DB, Bars, counts
from likewise.errors import InvalidInput, StoreError
from likewise.store import TEXT
from likewise.store.embedded.meta import read_meta, set_meta

__all__ = ["check_database", "new_generations", "snapshot"]

PAGES = 1024  # SQLite pages per step of the online backup (4 MB at the default page size)


def snapshot(db_file: Path, out: Path, bars: Bars) -> dict[str, int]:
    """Copy the SQLite database `db_file` to `out` as of one commit; the copy's counts."""
    if not db_file.is_file():
        raise InvalidInput(f"no likewise store at {db_file.parent} ({DB} not found)", field="data")
    try:
        source = sqlite3.connect(db_file, isolation_level=None, timeout=30)
        try:
            # A read transaction held across every step: each step copies pages of this one
            # commit, and writers in other processes neither wait for it nor restart it.
            source.execute("BEGIN")
            source.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            size = source.execute("PRAGMA page_size").fetchone()[0]
            target = sqlite3.connect(out, isolation_level=None)
            try:
                total = source.execute("PRAGMA page_count").fetchone()[0] * size
                with bars(total, "backup") as advance:
                    done = [0]

                    def step(status: int, remaining: int, pages: int) -> None:
                        advance((pages - remaining) * size - done[0])
                        done[0] = (pages - remaining) * size

                    source.backup(target, pages=PAGES, progress=step)
                target.execute("PRAGMA journal_mode=DELETE")  # one file, no WAL beside it
                check_database(target, f"the copy of {db_file} (the store itself may be damaged)")
                return counts(target)
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise StoreError(f"backing up {db_file} into {out} failed: {exc}") from exc


def check_database(db: sqlite3.Connection, what: str) -> None:
    """Refuse a database that fails SQLite's quick check; `what` names it in the message."""
    found = db.execute("PRAGMA quick_check").fetchone()[0]
    if found != "ok":  # SQLite's report spans lines; the message is one
        raise StoreError(f"{what} fails SQLite's integrity check: {' '.join(found.split())}")


def new_generations(db_file: Path) -> None:
    """Give every vector space of the store in `db_file` a new, random generation of labels.

    An index snapshot is adopted only by a store of its generation, so a snapshot that a
    process which had the replaced store open saves into the restored folder at its close (a
    likewise older than the store's presence lock does not wait for it) is rebuilt from the
    rows, not served. Nothing else reads the number: the labels themselves are unchanged."""
    db = sqlite3.connect(db_file, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        spaces = read_meta(db).spaces
        value = str(secrets.randbits(62))
        set_meta(db, {"generation": value} | {f"gen:{n}": value for n in spaces if n != TEXT})
        db.execute("COMMIT")
    finally:
        db.close()
