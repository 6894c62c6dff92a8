"""The feed's queue, written once for every backend (see `store/feed.py` for what it is for).

Tables (`feed_queue`, `feed_files`, `feed_cursors`, `feed_lease`) are made by each backend's
schema: SQLite's `CREATE TABLE IF NOT EXISTS`, PostgreSQL's migration 8. The queue's writes
are not exclusive: they change no item, profile or list, so they neither wait for the
store's write lock nor tell the other servers to drop their cached lists.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager

from likewise.store.feed import Cursor, FeedChange, FeedCounts, FeedRow
from likewise.store.sql.query import Sql

__all__ = ["FeedQueue"]

_LEASE = "worker"  # one lease per store: one worker applies the queue at a time
# A change is not queued again while the item's latest waiting change is that same change
# (a feed polled again, a push resent); it is after another change of the item (an upsert,
# a deletion, the upsert again), so the last one still wins.
_ENQUEUE = (
    "INSERT INTO feed_queue (item_id, op, record, hash, source, queued, state, error) "
    "SELECT {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p} WHERE NOT EXISTS (SELECT 1 FROM feed_queue "
    "WHERE seq = (SELECT MAX(seq) FROM feed_queue WHERE item_id = {p} AND state = 'pending') "
    "AND hash = {p} AND op = {p})"
)


class FeedQueue:
    """The queue's methods over a backend's `_reading()` and `_writing()`; mixed into
    `SqlActivity`, so every backend has them."""

    def _reading(self) -> AbstractContextManager[Sql]:
        raise NotImplementedError

    def _writing(self, *, exclusive: bool = True) -> AbstractContextManager[Sql]:
        raise NotImplementedError

    def feed_enqueue(
        self,
        changes: Sequence[FeedChange],
        *,
        file: str | None = None,
        cursor: Cursor | None = None,
    ) -> int:
        now = time.time()
        queued = 0
        with self._writing(exclusive=False) as db:
            if file is not None:
                taken = db.execute(
                    "INSERT INTO feed_files (name, at) VALUES ({p}, {p}) "
                    "ON CONFLICT (name) DO NOTHING",
                    (file, now),
                ).rowcount
                if taken != 1:
                    return 0
            if cursor is not None:
                db.execute(
                    "INSERT INTO feed_cursors (url, etag, modified, at) "
                    "VALUES ({p}, {p}, {p}, {p}) "
                    "ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, "
                    "modified = excluded.modified, at = excluded.at",
                    (cursor.url, cursor.etag, cursor.modified, now),
                )
            for c in changes:
                state = "failed" if c.op == "fail" else "pending"
                row = (c.item_id, c.op, c.record, c.hash, c.source, now, state, c.error)
                queued += db.execute(_ENQUEUE, (*row, c.item_id, c.hash, c.op)).rowcount
        return queued

    def feed_taken(self, file: str) -> bool:
        with self._reading() as db:
            found = db.execute("SELECT 1 FROM feed_files WHERE name = {p}", (file,)).fetchone()
        return found is not None

    def feed_cursor(self, url: str) -> Cursor | None:
        with self._reading() as db:
            row = db.execute(
                "SELECT etag, modified FROM feed_cursors WHERE url = {p}", (url,)
            ).fetchone()
        return None if row is None else Cursor(url, row[0], row[1])

    def feed_take(self, limit: int) -> list[FeedRow]:
        # Through the writing connection: a PostgreSQL read may go to a replica that has not
        # replayed the last pushes yet, and the worker must see what it marked done.
        with self._writing(exclusive=False) as db:
            rows = db.execute(
                "SELECT seq, item_id, op, source, record FROM feed_queue "
                "WHERE state = 'pending' ORDER BY seq LIMIT {p}",
                (limit,),
            ).fetchall()
        return [FeedRow(int(s), i, op, source, record) for s, i, op, source, record in rows]

    def feed_finish(self, done: Sequence[int], failed: Sequence[tuple[int, str]]) -> None:
        now = time.time()
        with self._writing(exclusive=False) as db:
            # The record of an applied change is dropped: the item holds it now, and the
            # row stays only to be counted.
            db.executemany(
                "UPDATE feed_queue SET state = 'done', record = NULL, done = {p} "
                "WHERE seq = {p} AND state = 'pending'",
                [(now, seq) for seq in done],
            )
            db.executemany(
                "UPDATE feed_queue SET state = 'failed', error = {p}, done = {p} "
                "WHERE seq = {p} AND state = 'pending'",
                [(error, now, seq) for seq, error in failed],
            )

    def feed_counts(self, *, failures: int = 10) -> FeedCounts:
        with self._reading() as db:
            rows = db.execute(
                "SELECT state, COUNT(*), MIN(queued) FROM feed_queue GROUP BY state"
            ).fetchall()
            latest = db.execute(
                "SELECT error FROM feed_queue WHERE state = 'failed' ORDER BY seq DESC LIMIT {p}",
                (failures,),
            ).fetchall()
        by_state = {state: (int(count), oldest) for state, count, oldest in rows}
        pending, oldest = by_state.get("pending", (0, None))
        return FeedCounts(
            pending=pending,
            done=by_state.get("done", (0, None))[0],
            failed=by_state.get("failed", (0, None))[0],
            oldest=None if oldest is None else float(oldest),
            failures=[json.loads(error) for (error,) in latest if error],
        )

    def feed_lease(self, owner: str, seconds: float, *, steal: str | None = None) -> str:
        now = time.time()
        with self._writing(exclusive=False) as db:
            db.execute(
                "INSERT INTO feed_lease (name, owner, until) VALUES ({p}, '', 0) "
                "ON CONFLICT (name) DO NOTHING",
                (_LEASE,),
            )
            # The UPDATE locks the row, so two workers asking at once agree on one owner.
            db.execute(
                "UPDATE feed_lease SET owner = {p}, until = {p} WHERE name = {p} "
                "AND (owner = {p} OR until < {p} OR owner = {p})",
                (owner, now + seconds, _LEASE, owner, now, steal or owner),
            )
            row = db.execute("SELECT owner FROM feed_lease WHERE name = {p}", (_LEASE,)).fetchone()
        return str(row[0])

    def feed_release(self, owner: str) -> None:
        with self._writing(exclusive=False) as db:
            db.execute(
                "UPDATE feed_lease SET until = 0 WHERE name = {p} AND owner = {p}",
                (_LEASE, owner),
            )
