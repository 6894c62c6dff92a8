"""Writes told to every process on one embedded store, through a table in the store itself.

SQLite has no LISTEN/NOTIFY, so a write transaction that changes what a cached list depends
on appends one row to `changes` (the same `Change` as on PostgreSQL: some users' events, a
new trained model, or anything else), in the transaction: the row is there exactly when the
write committed. A store with subscribers keeps one listener thread on its own connection
that polls `PRAGMA data_version` (a counter SQLite moves when another connection commits,
read without touching a table) every POLL_SECONDS, and on a move reads the rows past the last
it saw, skipping its own store's (which already dropped its own caches). Rows older than
KEEP_SECONDS are pruned by the writers; a listener that finds rows gone before it read them
tells its subscribers that everything changed.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from likewise.store.changes import Change, writing
from likewise.store.embedded.connection import connect
from likewise.store.sql import SqlActivity

__all__ = ["Changes", "Listener"]

log = logging.getLogger(__name__)
POLL_SECONDS = 0.02  # how often a listener looks: well within the 100 ms a change may take
KEEP_SECONDS = 60.0  # how long a row stays for a listener that fell behind
PRUNE_SECONDS = 10.0  # how often a writer prunes
MAX_USERS = 1_000  # past that a change is told as everything (the row stays small)
RETRY_SECONDS = 1.0

_local = threading.local()
Callback = Callable[[Change], None]


class Changes(SqlActivity):
    """The embedded store's half that tells its writes and hears the other processes'.
    `_announce` runs inside each write transaction; `_unshare` at close."""

    path: Path

    def _share(self) -> None:
        self._origin = uuid.uuid4().hex  # per store, so two stores in one process hear each other
        self._subscribers: list[Callback] = []
        self._listener: Listener | None = None
        self._listening = threading.Lock()
        self._pruned = 0.0

    def subscribe(self, callback: Callback) -> None:
        """Call `callback` with each change another process (or store) commits to this
        store, from a listener thread, within POLL_SECONDS: a cache drops what it makes stale."""
        with self._listening:
            self._subscribers.append(callback)
            if self._listener is None:
                self._listener = Listener(self.path, self._origin, self._heard)

    def _heard(self, change: Change) -> None:
        for callback in list(self._subscribers):
            callback(change)

    def _announce(self, db: sqlite3.Connection, changed: bool) -> None:
        """Inside a write transaction: a row telling the others what it changes, if anything
        a cached list depends on (`changed`: an exclusive write, which changes the catalog,
        profiles, popularity or a forget; else only a new model is told)."""
        users, model = writing() or (None, False)
        forgotten = getattr(_local, "forgetting", None)
        if forgotten is not None:  # told as everything below; no row may keep the id
            quoted = json.dumps(forgotten)
            like = "%" + quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            db.execute("DELETE FROM changes WHERE users LIKE ? ESCAPE '\\'", (like,))
        if not (changed or model):
            return
        listed = None if users is None or len(users) > MAX_USERS else json.dumps(sorted(users))
        now = time.time()
        db.execute(
            "INSERT INTO changes (origin, users, model, at) VALUES (?, ?, ?, ?)",
            (self._origin, listed, int(model), now),
        )
        if now - self._pruned > PRUNE_SECONDS:
            db.execute("DELETE FROM changes WHERE at < ?", (now - KEEP_SECONDS,))
            self._pruned = now

    def _unshare(self) -> None:
        """Stop listening (and wait for the thread: its connection is closed by then)."""
        listener = self.__dict__.get("_listener")
        if listener is not None:
            listener.close()

    # -- the writes whose changes are told by user or as a model ----------------------------

    def forget_user(self, user_id: str, *, keep_impressions: bool = False) -> dict[str, int]:
        """As the SQL stores forget, and in the same transaction every `changes` row naming the
        user is deleted (zeroed: secure_delete), so no file keeps their id."""
        _local.forgetting = user_id
        try:
            return super().forget_user(user_id, keep_impressions=keep_impressions)
        finally:
            _local.forgetting = None


class Listener:
    """One thread that polls the store in `folder` and calls `handle(change)` with each batch
    of changes from other stores, merged into one."""

    def __init__(self, folder: Path, origin: str, handle: Callback) -> None:
        self.origin = origin  # the store's own changes are left out
        self._handle = handle
        self._stop = threading.Event()
        self._db = connect(folder)
        last = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'")
        self._last = (last.fetchone() or (0,))[0]  # the last ever written, even if pruned
        self._version = -1
        self._thread = threading.Thread(target=self._run, name="likewise-listen", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.wait(POLL_SECONDS):
                try:
                    change = self._poll()
                except sqlite3.Error as exc:
                    log.warning("reading the store's changes failed (%s); trying again", exc)
                    self._stop.wait(RETRY_SECONDS)
                    continue
                if change is not None:
                    try:
                        self._handle(change)
                    except Exception:  # a subscriber's bug must not stop the listening
                        log.exception("a subscriber failed on a change")
        finally:
            self._db.close()

    def _poll(self) -> Change | None:
        """The others' changes committed since the last look, merged (None: none)."""
        (version,) = self._db.execute("PRAGMA data_version").fetchone()
        if version == self._version:
            return None
        self._version = version
        rows = self._db.execute(
            "SELECT seq, origin, users, model FROM changes WHERE seq > ? ORDER BY seq",
            (self._last,),
        ).fetchall()
        if not rows:
            return None
        lost = rows[0][0] > self._last + 1  # pruned before this listener read them
        self._last = rows[-1][0]
        theirs = [r for r in rows if r[1] != self.origin]
        if not theirs and not lost:
            return None
        users: set[str] | None = None if lost else set()
        for _, _, listed, _ in theirs:
            users = None if users is None or listed is None else users | set(json.loads(listed))
        return Change(None if users is None else frozenset(users), any(r[3] for r in theirs))

    def close(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
