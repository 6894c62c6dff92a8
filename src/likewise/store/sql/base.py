"""The events, profiles, tracking and blob half of the Store contract, written once.

A backend provides two context managers, `_reading()` (a connection that reads the last
commit) and `_writing()` (one transaction, holding the store's write lock), each yielding a
:class:`~likewise.store.sql.query.Sql`; this class runs the shared SQL through them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from likewise.events.model import Event
from likewise.profiles.state import ProfileState, Snapshot
from likewise.store.base import ProfileUpdate, ProfileUpdates
from likewise.store.changes import writing_for
from likewise.store.sql import activity, forget, reports, transfer
from likewise.store.sql.digest import SqlDigest
from likewise.store.sql.feed import FeedQueue
from likewise.store.sql.query import Sql
from likewise.store.sql.retention import SqlRetention
from likewise.store.sql.segments import SqlSegments
from likewise.tracking.impressions import Impression
from likewise.tracking.report import Activity, RateRow

__all__ = ["SqlActivity"]

log = logging.getLogger(__name__)

T = TypeVar("T")
K = TypeVar("K")


class SqlActivity(SqlDigest, FeedQueue, SqlSegments, SqlRetention):
    """Events, profiles, snapshots, popularity, impressions, reports, blobs, the copy
    format, a digest's reads (`SqlDigest`), the feed's queue (`FeedQueue`), users'
    properties and segments (`SqlSegments`) and the retention reports (`SqlRetention`),
    over a backend's `_reading()` and `_writing()`."""

    def _reading(self) -> AbstractContextManager[Sql]:
        raise NotImplementedError

    def _writing(self, *, exclusive: bool = True) -> AbstractContextManager[Sql]:
        """One transaction; `exclusive` also takes the lock that serialises the writes which
        change profiles, popularity or the catalog (impressions and blobs need not wait)."""
        raise NotImplementedError

    def record(
        self,
        events: Sequence[Event],
        signals: Sequence[float],
        update: ProfileUpdate | ProfileUpdates,
        *,
        spaces: Sequence[str] = ("text",),
    ) -> list[bool]:
        if not events:
            return []
        with writing_for({e.user_id for e in events}), self._writing() as db:
            return activity.record(db, events, signals, update, spaces)

    def profile(self, user_id: str, *, space: str = "text") -> ProfileState | None:
        with self._reading() as db:
            return activity.load_profiles(db, [user_id], space).get(user_id)

    def user(
        self, user_id: str, *, space: str = "text"
    ) -> tuple[ProfileState | None, list[str], int]:
        with self._reading() as db:
            return activity.user(db, user_id, space)

    def put_profiles(
        self, profiles: Sequence[tuple[ProfileState, Sequence[Snapshot]]], *, replace: bool
    ) -> None:
        with self._writing() as db:
            if replace:
                db.executemany(
                    "DELETE FROM profile_history WHERE user_id = {p} AND space = {p}",
                    [(state.user_id, state.space) for state, _ in profiles],
                )
            activity.save_profiles(db, profiles)

    def snapshots(self, user_id: str, limit: int, *, space: str = "text") -> list[Snapshot]:
        with self._reading() as db:
            return activity.snapshots(db, user_id, limit, space)

    def seen(self, user_id: str) -> list[str]:
        with self._reading() as db:
            return activity.seen(db, user_id)

    def events(self, batch: int = 10_000) -> Iterator[list[tuple[Event, float]]]:
        return self._paged(lambda db, after: activity.events_page(db, after, batch), 0)

    def forget_user(self, user_id: str, *, keep_impressions: bool = False) -> dict[str, int]:
        tables = activity.FORGET[:3] if keep_impressions else activity.FORGET
        with self._writing() as db:
            if not keep_impressions and db.dialect.forget_lock:
                db.execute(db.dialect.forget_lock)  # waits for impression writes under way
            deleted = activity.forget_user(db, user_id, tables)
            if not keep_impressions:
                forget.tombstone(db, user_id)
        self._clear_log()
        return deleted

    def _clear_log(self, attempt: int = 0) -> None:
        """Empty the write-ahead log, which keeps copies of deleted rows (SQLite). A reader
        on an older snapshot (a backup under way) keeps it from being emptied: then it is
        tried again every second in the background, for up to an hour, without holding up
        the forget or this process's reads meanwhile."""
        try:
            with self._reading() as db:
                if not db.dialect.checkpoint:
                    return
                db.execute(db.dialect.wait_briefly)
                try:
                    busy = db.execute(db.dialect.checkpoint).fetchone()[0] == 1
                finally:
                    db.execute(db.dialect.wait_again)
        except Exception as exc:  # closed meanwhile, or unreachable: nothing left to do here
            log.debug("checkpoint after a forget stopped: %s", exc)
            return
        if busy and attempt < 3600:
            retry = threading.Timer(1.0, self._clear_log, (attempt + 1,))
            retry.daemon = True
            retry.start()
        elif busy:
            log.warning("the write-ahead log could not be emptied after a forget for an hour")

    def user_events(
        self, user_id: str, *, limit: int, before: int | None = None
    ) -> list[tuple[int, Event]]:
        with self._reading() as db:
            return activity.user_events(db, user_id, 2**62 if before is None else before, limit)

    def item_ids(self, *, after: str = "", limit: int) -> list[str]:
        with self._reading() as db:
            return activity.item_ids(db, after, limit)

    def log_impressions(self, impressions: Sequence[Impression]) -> None:
        with self._writing(exclusive=False) as db:
            if db.dialect.forget_lock_shared:  # a forget under way finishes first
                db.execute(db.dialect.forget_lock_shared)
            reports.log_impressions(db, impressions)

    def forget_mark(self) -> int:
        with self._reading() as db:
            return forget.forget_mark(db)

    def shown(self, user_id: str, last: int = 50) -> dict[str, int]:
        with self._reading() as db:
            return reports.shown(db, user_id, last)

    def rate_rows(
        self, group_by: str, since: float, clicks: Sequence[str], conversions: Sequence[str]
    ) -> list[RateRow]:
        with self._reading() as db:
            return reports.rate_rows(db, group_by, since, clicks, conversions)

    def activity(self, since: float) -> Activity:
        with self._reading() as db:
            return reports.activity(db, since)

    def export_rows(self, table: str, batch: int = 5_000) -> Iterator[list[tuple[Any, ...]]]:
        return self._paged(lambda db, after: transfer.dump_page(db, table, after, batch), None)

    def import_rows(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        with self._writing() as db:
            transfer.load_rows(db, table, rows)

    def _count_popularity(self) -> None:
        """Count into popularity the events recorded since its last fold (`activity.fold`):
        called before popularity is read, so a read sees every event recorded before it."""
        with self._reading() as db:
            if not activity.pending(db):
                return
        with writing_for(()), self._writing() as db:  # no user's cached list changes
            activity.fold(db)

    def put_blob(self, name: str, data: bytes) -> None:
        self.put_blobs({name: data})

    def put_blobs(self, blobs: Mapping[str, bytes]) -> None:
        now = time.time()
        model = "model.meta" in blobs  # a trained bundle's last blob: a new model
        with writing_for(None, model=model), self._writing(exclusive=False) as db:
            db.executemany(
                "INSERT INTO blobs(name, data, at) VALUES ({p}, {p}, {p}) ON CONFLICT(name) "
                "DO UPDATE SET data = excluded.data, at = excluded.at",
                [(name, data, now) for name, data in blobs.items()],
            )

    def update_blob(self, name: str, change: Callable[[bytes | None], bytes]) -> bytes:
        with self._writing() as db:  # exclusive: the store's write lock held from the read
            row = db.execute("SELECT data FROM blobs WHERE name = {p}", (name,)).fetchone()
            data = change(None if row is None else bytes(row[0]))
            db.execute(
                "INSERT INTO blobs(name, data, at) VALUES ({p}, {p}, {p}) ON CONFLICT(name) "
                "DO UPDATE SET data = excluded.data, at = excluded.at",
                (name, data, time.time()),
            )
        return data

    def get_blob(self, name: str) -> bytes | None:
        with self._reading() as db:
            row = db.execute("SELECT data FROM blobs WHERE name = {p}", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def _paged(self, read: Callable[[Sql, K], tuple[list[T], K]], start: K) -> Iterator[list[T]]:
        """Pages of `read` from `start`, each in its own read: nothing is held while the
        caller works on a page."""
        after = start
        while True:
            with self._reading() as db:
                page, after = read(db, after)
            if not page:
                return
            yield page
