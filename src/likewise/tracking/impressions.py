"""Impressions: which list was shown to whom, written in the background in small batches.

A recommendation is a read; logging it must not put an fsync on the read path. Impressions
are queued and committed by one background thread every `interval` seconds (or sooner when
`batch` are waiting), so a crash can lose at most the last fraction of a second of
impressions, never an event. `flush()` writes what is queued now (reports call it first).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Impression", "ImpressionLog"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Impression:
    """One list shown: its id (the recommendation id), who saw it, what, made how, when, how
    many milliseconds it took to make, and the store's forget mark when it was begun (it is
    not stored if its user was forgotten since; None: stored whatever was forgotten)."""

    id: str
    user_id: str
    strategy: str
    items: Sequence[str]
    context: Mapping[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)
    ms: float | None = None
    mark: int | None = None


class ImpressionLog:
    """A queue of impressions drained into `write` by a background thread."""

    def __init__(
        self,
        write: Callable[[list[Impression]], None],
        *,
        interval: float = 0.2,
        batch: int = 512,
    ) -> None:
        self._write = write
        self._interval = interval
        self._batch = batch
        self._queue: list[Impression] = []
        self._lock = threading.Lock()  # guards the queue
        self._flushing = threading.Lock()  # one writer drains at a time, in order
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def add(self, impression: Impression) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the impression log is closed")
            self._queue.append(impression)
            waiting = len(self._queue)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="likewise-impressions", daemon=True
                )
                self._thread.start()
        if waiting >= self._batch:
            self._wake.set()

    def flush(self) -> None:
        """Write every queued impression now."""
        with self._flushing:
            with self._lock:
                todo, self._queue = self._queue, []
            if todo:
                self._write(todo)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join()
        self.flush()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # keep serving; the next flush retries what it can
                log.exception("writing impressions failed")
            with self._lock:
                if self._closed:
                    return
