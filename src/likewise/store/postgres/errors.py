"""What psycopg's and its pool's errors mean to a caller of the PostgreSQL store."""

from __future__ import annotations

from psycopg import errors as pg_errors
from psycopg_pool import PoolClosed, PoolTimeout

from likewise.errors import LikewiseError, StoreError, StoreFull, StoreUnavailable
from likewise.store.boundary import translating

__all__ = ["postgres_error", "translated"]


def postgres_error(exc: BaseException) -> LikewiseError | None:
    """A lost server, a refused connection, a full pool or a cancelled statement is
    unavailable (try again later), and so is a full disk on the server (SQLSTATE 53100: the
    transaction was rolled back); any other database error is a store error."""
    if isinstance(exc, pg_errors.DiskFull):
        return StoreFull(f"the database's disk is full ({_first_line(exc)}): free space")
    if isinstance(exc, PoolTimeout):
        return StoreUnavailable(f"no database connection came free in time: {exc}")
    if isinstance(exc, PoolClosed):
        return StoreError("the store is closed")
    if isinstance(exc, pg_errors.OperationalError | pg_errors.InterfaceError):
        return StoreUnavailable(f"the database is unavailable: {_first_line(exc)}")
    if isinstance(exc, pg_errors.Error):
        return StoreError(f"the database failed: {_first_line(exc)}")
    return None


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


translated = translating(postgres_error)
