"""Writes told to every server on one PostgreSQL database, by LISTEN/NOTIFY.

A write transaction that changes what a cached list depends on sends one notification on
the channel `likewise_changes`, inside the transaction: PostgreSQL delivers it when the
transaction commits, and never if it rolls back. Its JSON payload says what changed, as the
result caches key it: some users' events (`users`), a new trained model (`model`), or
anything else (`all`: the catalog, profiles, a forget, experiments).

Each store that has subscribers keeps one listener thread on a dedicated connection to the
primary (replicas do not carry notifications). It hands each change to the subscribers at
once, skipping the store's own (which it already acted on). A lost connection is made again;
as notifications sent meanwhile are gone, the subscribers are then told that everything
changed.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Collection
from typing import Any

import psycopg
from psycopg import Connection

from likewise.store.changes import Change
from likewise.store.location import redact

__all__ = ["CHANNEL", "Change", "Listener", "announce"]

log = logging.getLogger(__name__)
CHANNEL = "likewise_changes"
MAX_PAYLOAD = 7_000  # PostgreSQL takes 8,000 bytes; past that a change is sent as `all`
RECONNECT_SECONDS = 1.0
WAKE_SECONDS = 0.25  # how often a waiting listener checks whether its store was closed


def announce(
    conn: Connection[Any], origin: str, users: Collection[str] | None, *, model: bool = False
) -> None:
    """Send a change inside the caller's transaction (delivered when it commits)."""
    body: dict[str, Any] = {"o": origin, "model": model}
    if users is not None:
        body["users"] = sorted(users)
    payload = json.dumps(body, ensure_ascii=False)
    if len(payload.encode()) > MAX_PAYLOAD:
        payload = json.dumps({"o": origin, "model": model})
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))


def _parse(payload: str) -> tuple[str, Change]:
    body = json.loads(payload)
    users = body.get("users")
    return str(body.get("o", "")), Change(
        None if users is None else frozenset(users), bool(body.get("model"))
    )


Handler = Callable[[list[Change], Connection[Any]], None]


class Listener:
    """One thread that LISTENs for the store at `url` and calls `handle(changes, conn)`
    with every batch of changes from other stores (`conn` is its own connection to the
    primary, for a query about them: the LSN they committed at)."""

    def __init__(self, url: str, origin: str, handle: Handler) -> None:
        self.url = url
        self.origin = origin  # the store's own changes are left out
        self._handle = handle
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="likewise-listen", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=10)  # listening before the first request is answered

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._ready.set()
                    if not first:  # what was sent while we were away is lost
                        self._handle([Change(None)], conn)
                    first = False
                    self._listen(conn)
            except Exception as exc:
                if self._stop.is_set():
                    return
                log.warning(
                    "listening for changes at %s stopped (%s); reconnecting",
                    redact(self.url),
                    " ".join(str(exc).split()),
                )
                first = False
                self._stop.wait(RECONNECT_SECONDS)

    def _listen(self, conn: Connection[Any]) -> None:
        while not self._stop.is_set():
            notes = list(conn.notifies(timeout=WAKE_SECONDS, stop_after=1))
            if notes:  # and what else is already here: one LSN query for a burst
                notes += conn.notifies(timeout=0.0)
            changes = [c for o, c in map(_parse, (n.payload for n in notes)) if o != self.origin]
            if changes:
                try:
                    self._handle(changes, conn)
                except psycopg.Error:
                    raise
                except Exception:  # a subscriber's bug must not stop the listening
                    log.exception("a subscriber failed on a change")

    def close(self) -> None:
        self._stop.set()
