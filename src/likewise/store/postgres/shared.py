"""What the PostgreSQL store shares with the other servers on its database: its writes told
to them (`notify.py`), theirs heard, and its reads spread over read replicas (`replicas.py`).

A mixin of :class:`~likewise.store.postgres.store.PostgresStore`: `_write` calls
`_announce` inside each transaction and `_wrote` after its commit; `_read` takes its
connection from the router; the reads in :data:`READS` may go to a replica (the subclass's
methods of those names are wrapped as it is made).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from psycopg import Connection

from likewise.store.changes import writing
from likewise.store.postgres.notify import Change, Listener, announce
from likewise.store.postgres.pool import Connections
from likewise.store.postgres.replicas import LSN_NOW, Router, routed
from likewise.store.postgres.search import PgConfig, Planner
from likewise.store.sql import SqlActivity

__all__ = ["READS", "Shared"]

log = logging.getLogger(__name__)

# The reads a replica may answer, each with the position of the user id whose own writes it
# must see (None: only the store's own catalog, profile and forget writes). The rest, among
# them the forget mark, blobs, a user's events and impressions, are the primary's.
READS: dict[str, int | None] = {
    "search": None,
    "fetch": None,
    "vectors": None,
    "get": None,
    "titles": None,
    "matching": None,
    "count": None,
    "popular": None,
    "user": 0,
    "profile": 0,
    "snapshots": 0,
    "rate_rows": None,
    "activity": None,
}


class Shared(SqlActivity):
    """Notifications out and in, and the read router, for one store. A subclass's methods
    named in :data:`READS` may read on a replica (`replicas.routed`)."""

    url: str
    _pool: Connections
    _planner: Planner
    _meta_at: float

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        routed(READS)(cls)

    def _share(
        self, read_urls: Sequence[str], config: PgConfig, configure: Callable[..., None]
    ) -> None:
        self._origin = uuid.uuid4().hex
        self._router = Router(self._pool, read_urls, config, configure)
        self._subscribers: list[Callable[[Change], None]] = []
        self._listener: Listener | None = None
        self._listening = threading.Lock()

    def subscribe(self, callback: Callable[[Change], None]) -> None:
        """Call `callback` with each change another server (or store) commits to this
        database, from a listener thread, at once: a cache drops what the change makes stale."""
        with self._listening:
            self._subscribers.append(callback)
            if self._listener is None:
                self._listener = Listener(self.url, self._origin, self._heard)

    def _heard(self, changes: list[Change], conn: Connection[Any]) -> None:
        """Changes from the others: reads wait for them on a replica, then caches drop."""
        users: set[str] | None = set()
        for change in changes:
            users = None if users is None or change.users is None else users | change.users
        merged = Change(None if users is None else frozenset(users), any(c.model for c in changes))
        if self._router.replicas:
            row = conn.execute(LSN_NOW).fetchone()  # past their commits: they were delivered
            self._router.note(int(row[0]) if row else 0, merged.users)
        if merged.users is None:
            self._planner.catalog_version += 1  # the plans kept per filter may be stale
            self._meta_at = float("-inf")  # and the model or the spaces may have changed
        for callback in list(self._subscribers):
            callback(merged)

    def _announce(self, conn: Connection[Any], changed: bool) -> None:
        """Inside a write transaction: tell the others what it changes, if anything a cached
        list depends on (`changed`: an exclusive write, which changes the catalog, profiles,
        popularity or a forget; else only a new model is told)."""
        users, model = writing() or (None, False)
        if changed or model:
            announce(conn, self._origin, users, model=model)

    def _wrote(self, changed: bool) -> None:
        """After the commit: the LSN later reads on a replica wait for (read on the primary,
        where it is at least the commit's)."""
        users, model = writing() or (None, False)
        if (changed or model) and self._router.replicas:
            with self._pool.connection() as conn:
                self._router.wrote(conn, users)

    def _unshare(self) -> None:
        """Stop listening and close the replicas' pools (as far as `_share` got)."""
        for part in (getattr(self, "_listener", None), getattr(self, "_router", None)):
            if part is not None:
                part.close()

    # -- the writes whose changes are told by user or as a model ----------------------------
