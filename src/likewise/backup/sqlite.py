"""An embedded store's database copied as of one commit while other processes write to it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from likewise.backup.files import DB, Bars, counts
from likewise.errors import InvalidInput, StoreError

__all__ = ["check_database", "snapshot"]

PAGES = 1024  # SQLite pages per step of the online backup (4 MB at the default page size)


def snapshot(db_file: Path, out: Path, bars: Bars) -> dict[str, int]:
    """Copy the SQLite database `db_file` to `out` as of one commit; the copy's counts."""
    if not db_file.is_file():
        raise InvalidInput(
            f"no likewise store at {db_file.parent} ({DB} not found)", field="source"
        )
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
                check_database(target, db_file)
                return counts(target)
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise StoreError(f"backing up {db_file} failed: {exc}") from exc


def check_database(db: sqlite3.Connection, path: Path) -> None:
    found = db.execute("PRAGMA quick_check").fetchone()[0]
    if found != "ok":
        raise StoreError(f"{path} fails SQLite's integrity check: {found}")
