"""The events, profiles, tracking and blob half of the embedded store (a mixin).

Writes take the store's writer lock and one SQLite transaction; reads go through the reading
connection, so they never wait on a writer's fsync. The SQL itself is in `activity.py`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from likewise.events.model import Event
from likewise.profiles.state import ProfileState, Snapshot
from likewise.store import activity
from likewise.store.base import ProfileUpdate
from likewise.tracking.impressions import Impression
from likewise.tracking.report import Activity, RateRow

__all__ = ["SqliteActivity"]


T = TypeVar("T")


class SqliteActivity:
    """Needs `_writer`, `_sql`, `_rsql`, `_rdb` and `_transaction()` from the store."""

    _writer: threading.Lock
    _sql: threading.RLock
    _rsql: threading.RLock
    _rdb: sqlite3.Connection

    def _transaction(self) -> Any:
        raise NotImplementedError

    def record(
        self, events: Sequence[Event], signals: Sequence[float], update: ProfileUpdate
    ) -> list[bool]:
        if not events:
            return []
        with self._writer, self._sql, self._transaction() as db:
            return activity.record(db, events, signals, update)

    def profile(self, user_id: str) -> ProfileState | None:
        with self._rsql:
            return activity.load_profile(self._rdb, user_id)

    def user(self, user_id: str) -> tuple[ProfileState | None, list[str]]:
        with self._rsql:
            return activity.load_profile(self._rdb, user_id), activity.seen(self._rdb, user_id)

    def put_profiles(
        self, profiles: Sequence[tuple[ProfileState, Sequence[Snapshot]]], *, replace: bool
    ) -> None:
        with self._writer, self._sql, self._transaction() as db:
            if replace:
                db.executemany(
                    "DELETE FROM profile_history WHERE user_id = ?",
                    [(state.user_id,) for state, _ in profiles],
                )
            activity.save_profiles(db, profiles)

    def snapshots(self, user_id: str, limit: int) -> list[Snapshot]:
        with self._rsql:
            return activity.snapshots(self._rdb, user_id, limit)

    def seen(self, user_id: str) -> list[str]:
        with self._rsql:
            return activity.seen(self._rdb, user_id)

    def events(self, batch: int = 10_000) -> Iterator[list[tuple[Event, float]]]:
        return self._pages(activity.iter_events(self._rdb, batch))

    def forget_user(self, user_id: str) -> dict[str, int]:
        with self._writer, self._sql, self._transaction() as db:
            return activity.forget_user(db, user_id)

    def log_impressions(self, impressions: Sequence[Impression]) -> None:
        with self._writer, self._sql, self._transaction() as db:
            activity.log_impressions(db, impressions)

    def shown(self, user_id: str, last: int = 50) -> dict[str, int]:
        with self._rsql:
            return activity.shown(self._rdb, user_id, last)

    def rate_rows(
        self, group_by: str, since: float, clicks: Sequence[str], conversions: Sequence[str]
    ) -> list[RateRow]:
        with self._rsql:
            return activity.rate_rows(self._rdb, group_by, since, clicks, conversions)

    def activity(self, since: float) -> Activity:
        with self._rsql:
            return activity.activity(self._rdb, since)

    def export_rows(self, table: str, batch: int = 5_000) -> Iterator[list[tuple[Any, ...]]]:
        return self._pages(activity.dump_rows(self._rdb, table, batch))

    def _pages(self, pages: Iterator[list[T]]) -> Iterator[list[T]]:
        """Each page read under the read lock, which is let go while the caller works."""
        while True:
            with self._rsql:
                page = next(pages, None)
            if page is None:
                return
            yield page

    def import_rows(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        with self._writer, self._sql, self._transaction() as db:
            activity.load_rows(db, table, rows)

    def put_blob(self, name: str, data: bytes) -> None:
        with self._writer, self._sql, self._transaction() as db:
            db.execute(
                "INSERT INTO blobs(name, data, at) VALUES (?, ?, ?) ON CONFLICT(name) "
                "DO UPDATE SET data = excluded.data, at = excluded.at",
                (name, data, time.time()),
            )

    def get_blob(self, name: str) -> bytes | None:
        with self._rsql:
            row = self._rdb.execute("SELECT data FROM blobs WHERE name = ?", (name,)).fetchone()
        return None if row is None else bytes(row[0])
