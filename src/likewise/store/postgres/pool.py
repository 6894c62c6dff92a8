"""The PostgreSQL store's connections: a psycopg pool that answers at once while the database
is down, instead of holding every request for the whole `pool_timeout`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from psycopg import Connection
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from likewise.store.postgres.search import PgConfig

__all__ = ["Connections"]

# What a database that went away (or a pool that cannot reach it) raises.
_LOST = (PoolTimeout, pg_errors.OperationalError, pg_errors.InterfaceError)


class Connections:
    """A pool of autocommit connections, each set up by `configure`.

    A call waits at most `pool_timeout` seconds for a connection. Once a call has failed to
    reach the database, later calls wait at most `retry_timeout` until one gets through
    again: during an outage a request is answered 503 at once, rather than each holding a
    worker (or, for a handler that calls the store from the event loop, the whole server)
    for the full wait, while the pool keeps reconnecting in the background."""

    def __init__(
        self, url: str, config: PgConfig, configure: Callable[[Connection[Any]], None]
    ) -> None:
        self.config = config
        self._down = threading.Event()
        self._pool: ConnectionPool[Any] = ConnectionPool(
            url,
            min_size=config.pool_min,
            max_size=config.pool_max,
            timeout=config.pool_timeout,
            kwargs={"autocommit": True},
            configure=configure,
            open=True,
        )

    @property
    def down(self) -> bool:
        """Whether the last call failed to reach the database."""
        return self._down.is_set()

    @contextmanager
    def connection(self) -> Iterator[Connection[Any]]:
        timeout = self.config.retry_timeout if self._down.is_set() else None
        try:
            with self._pool.connection(timeout=timeout) as conn:
                yield conn
        except _LOST:
            self._down.set()
            raise
        self._down.clear()

    def close(self) -> None:
        self._pool.close()
