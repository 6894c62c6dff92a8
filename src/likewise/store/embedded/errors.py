"""What sqlite3's errors mean to a caller of the embedded store."""

from __future__ import annotations

import errno
import sqlite3

from likewise.errors import LikewiseError, StoreError, StoreFull, StoreUnavailable
from likewise.store.boundary import translating

__all__ = ["sqlite_error", "translated"]

_BUSY = ("locked", "busy", "unable to open", "disk i/o", "readonly")


def sqlite_error(exc: BaseException) -> LikewiseError | None:
    """A locked or unreachable database file is unavailable (try again later), and so is a
    full disk (SQLITE_FULL, ENOSPC); a closed store, a corrupt file or any other database
    error is a store error."""
    if isinstance(exc, sqlite3.OperationalError | OSError) and _full(exc):
        return StoreFull(f"the disk under the store is full ({exc}): free space and try again")
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        if any(word in text for word in _BUSY):
            return StoreUnavailable(f"the store's database is unavailable: {exc}")
        return StoreError(f"the store's database failed: {exc}")
    if isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc).lower():
        return StoreError("the store is closed")
    if isinstance(exc, sqlite3.DatabaseError):
        return StoreError(f"the store's database failed: {exc}")
    if isinstance(exc, OSError):
        return StoreUnavailable(f"the store's files are unavailable: {exc}")
    return None


def _full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc)


translated = translating(sqlite_error)
