"""Reads on PostgreSQL streaming replicas, writes on the primary.

Only the reads named in :func:`routed` may go to a replica (search, related items, a user's
profile and seen items, popular lists, reports); every other read, and every write, is the
primary's. Each replica is taken in turn.

Read-your-writes is kept by the write-ahead log position (LSN), not by a time window: a
window would have to guess the lag, and a lag past it (a replica catching up after a burst)
would serve a user a list that misses the event they just recorded. After a write commits,
the primary's LSN is kept: per user for events, and as a floor every read waits for
otherwise (the catalog, profiles, a forget). Another server's write arrives as a
notification (`notify.py`), and the primary's LSN is read then. A read goes to a replica
only once that replica has replayed past what it needs (`pg_last_wal_replay_lsn()`, asked
only when the last answer was behind); else to the next replica, else to the primary. A
user's list is never worse than the primary's, and it costs one query only after a write.

A replica that goes away (refused, reset, cancelled by recovery) costs no failed request:
the read is run again on the next replica or the primary, the replica is left out, and a
background probe lets it back once it answers again. A replica whose connections are all
busy is not gone: a read then goes elsewhere after a short wait, and the replica stays in.
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg import Connection
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from likewise.store.location import redact
from likewise.store.postgres.pool import Connections
from likewise.store.postgres.search import PgConfig

__all__ = ["ReplicaLost", "Router", "routed"]

log = logging.getLogger(__name__)
C = TypeVar("C", bound=type)

# What a replica that went away raises; 40001 is a query cancelled by a conflict with recovery.
_LOST = (
    PoolTimeout,
    pg_errors.OperationalError,
    pg_errors.InterfaceError,
    pg_errors.SerializationFailure,
)
WAIT = 1.0  # longest a read waits for a replica's connection before going elsewhere
BUSY_WAIT = 0.01  # ...when every connection of its pool is already lent out
PROBE_SECONDS = 1.0  # how often a replica that went away is tried again
USERS_KEPT = 100_000  # writers whose LSN is kept; an older one raises the floor instead
LSN_NOW = "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"
LSN_REPLAYED = "SELECT COALESCE(pg_last_wal_replay_lsn() - '0/0'::pg_lsn, 0)"


class ReplicaLost(Exception):
    """A read on a replica lost its connection: the read is run again elsewhere."""


@dataclass
class _Route:
    user: str | None  # whose writes this read must see; None: only the floor


_local = threading.local()


def _route() -> _Route | None:
    return getattr(_local, "route", None)


class Replica:
    """One replica's pool, the LSN it last said it had replayed, and whether it is left out."""

    def __init__(
        self, url: str, config: PgConfig, configure: Callable[[Connection[Any]], None]
    ) -> None:
        self.url = url
        self.replayed = 0
        self._out = threading.Event()
        self.pool: ConnectionPool[Any] = ConnectionPool(
            url,
            min_size=0,  # nothing reconnects in the background while it is away
            max_size=config.pool_max,
            timeout=WAIT,
            kwargs={"autocommit": True, "connect_timeout": 2},
            configure=configure,
            open=True,
        )

    @property
    def out(self) -> bool:
        return self._out.is_set()

    def take(self, need: int) -> Connection[Any] | None:
        """A connection if this replica is in and has replayed past `need`, else None."""
        if self.out:
            return None
        try:
            conn: Connection[Any] = self.pool.getconn(WAIT if not self.busy else BUSY_WAIT)
        except _LOST as exc:
            if not self.busy:  # it could not connect: gone
                self.leave(exc)
            return None  # else every connection is busy reading: this read goes elsewhere
        if need > self.replayed:
            try:
                row = conn.execute(LSN_REPLAYED).fetchone()
            except _LOST as exc:
                self.pool.putconn(conn)
                self.leave(exc)
                return None
            self.replayed = max(self.replayed, int(row[0]) if row else 0)
            if need > self.replayed:
                self.pool.putconn(conn)
                return None
        return conn

    @property
    def busy(self) -> bool:
        """Whether every connection the pool may open is open and lent out. A pool that times
        out then is busy, not gone: a replica gone cannot open its connections, so its pool
        times out below its size. Telling the two apart keeps a replica under more reads than
        `pool_max` in, and a dead one still costs one wait before it is left out."""
        stats = self.pool.get_stats()
        return stats["pool_size"] >= stats["pool_max"] and stats["pool_available"] == 0

    def leave(self, exc: BaseException) -> None:
        """Leave this replica out until a probe reaches it again."""
        if self._out.is_set():
            return
        self._out.set()
        log.warning("read replica %s left out: %s", redact(self.url), " ".join(str(exc).split()))
        threading.Thread(target=self._probe, name="likewise-replica-probe", daemon=True).start()

    def _probe(self) -> None:
        while not self.pool.closed:
            time.sleep(PROBE_SECONDS)
            try:
                with psycopg.connect(self.url, connect_timeout=2, autocommit=True) as conn:
                    conn.execute("SELECT 1")
            except Exception:  # still away
                continue
            self.pool.check()  # drop the connections that died with it
            self._out.clear()
            log.warning("read replica %s is back", redact(self.url))
            return

    def close(self) -> None:
        self.pool.close()


class Router:
    """Where each read goes: the primary, or a replica that has replayed what it needs."""

    def __init__(
        self,
        primary: Connections,
        urls: Collection[str],
        config: PgConfig,
        configure: Callable[[Connection[Any]], None],
    ) -> None:
        self.primary = primary
        self.replicas = [Replica(url, config, configure) for url in urls]
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._floor = 0  # every routed read waits for this LSN
        self._users: OrderedDict[str, int] = OrderedDict()  # a writer's reads wait for theirs

    @contextmanager
    def reading(self) -> Iterator[Connection[Any]]:
        """A connection for a read: a replica's inside a routed call, else the primary's."""
        route = _route()
        if route is not None and self.replicas:
            need = self.need(route.user)
            start = next(self._turn)
            for k in range(len(self.replicas)):
                replica = self.replicas[(start + k) % len(self.replicas)]
                conn = replica.take(need)
                if conn is None:
                    continue
                try:
                    yield conn
                except _LOST as exc:
                    replica.leave(exc)
                    raise ReplicaLost(redact(replica.url)) from exc
                finally:
                    replica.pool.putconn(conn)
                return
        with self.primary.connection() as conn:
            yield conn

    def need(self, user: str | None) -> int:
        with self._lock:
            return max(self._floor, self._users.get(user, 0) if user is not None else 0)

    def wrote(self, conn: Connection[Any], users: Collection[str] | None) -> None:
        """After a commit on the primary: what later reads must wait for (no replicas: none)."""
        if self.replicas:
            row = conn.execute(LSN_NOW).fetchone()
            self.note(int(row[0]) if row else 0, users)

    def note(self, lsn: int, users: Collection[str] | None) -> None:
        """Reads of `users` (None: every read) wait for `lsn`."""
        with self._lock:
            if users is None:
                self._floor = max(self._floor, lsn)
                return
            for user in users:
                self._users[user] = max(lsn, self._users.pop(user, 0))
            while len(self._users) > USERS_KEPT:  # forgotten only by raising the floor
                self._floor = max(self._floor, self._users.popitem(last=False)[1])

    def close(self) -> None:
        for replica in self.replicas:
            replica.close()


def routed(reads: Mapping[str, int | None]) -> Callable[[C], C]:
    """A class decorator: the methods named in `reads` may read on a replica. Each maps to
    the position of its user id argument (whose writes it must see), or None. A read whose
    replica went away is run again: on another replica, at last on the primary."""

    def decorate(cls: C) -> C:
        for name, user_at in reads.items():
            method = getattr(cls, name)
            if not getattr(method, "routed", False):  # a subclass's, routed already
                setattr(cls, name, _routing(method, user_at))
        return cls

    return decorate


def _routing(method: Callable[..., Any], user_at: int | None) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(store: Any, *args: Any, **kwargs: Any) -> Any:
        router: Router = store._router
        if _route() is not None or not router.replicas:  # nested, or nowhere else to go
            return method(store, *args, **kwargs)
        user = None
        if user_at is not None:
            user = args[user_at] if len(args) > user_at else kwargs.get("user_id")
        try:
            for _ in router.replicas:
                _local.route = _Route(user)
                try:
                    return method(store, *args, **kwargs)
                except ReplicaLost as lost:
                    log.info("a read on %s is run again elsewhere", lost)
            _local.route = None  # every replica failed this read: the primary's turn
            return method(store, *args, **kwargs)
        finally:
            _local.route = None

    call.routed = True  # type: ignore[attr-defined]
    return call
