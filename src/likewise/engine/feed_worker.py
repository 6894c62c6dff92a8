"""The feed's worker: it looks at the sources every `every` seconds, queues what they hold,
and applies the queue in batches, in a thread of a server or in `likewise watch`.

Only the holder of the store's lease looks and applies, so servers started with the same
sources (or `--workers N`) do the work once. The lease is renewed at every turn; a holder that
died on this host (its process is gone) is taken over at once, one elsewhere when its lease
runs out, and what it left pending is applied then: the queue is durable.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Self

from likewise.config.feed import FeedConfig
from likewise.engine.feed import Feed, FeedStep
from likewise.engine.feed_sources import Folder, poll
from likewise.errors import LikewiseError

__all__ = ["FeedWorker", "Looked", "Pushes"]

log = logging.getLogger(__name__)

Looked = Callable[[str, int], object]  # (source, changes queued), for a progress display
Stepped = Callable[[FeedStep], object]


class FeedWorker:
    """Follows `folders` and `urls` into `engine`'s queue and applies it; `run` blocks until
    `stop`, `start` runs it in a thread."""

    def __init__(
        self,
        engine: Feed,
        *,
        folders: Sequence[str] = (),
        urls: Sequence[str] = (),
        every: float = 5.0,
        batch: int = 256,
        looked: Looked | None = None,
        stepped: Stepped | None = None,
        alive: Callable[[], bool] | None = None,
    ) -> None:
        self.engine = engine
        self.folders = [Folder(path) for path in folders]
        self.urls = list(urls)
        self.every = every
        self.batch = batch
        self.looked, self.stepped = looked, stepped
        self.alive = alive  # False: the store is no longer the one to follow (stop)
        self.gone = False  # stopped because `alive` said so
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_seconds = max(60.0, 4 * every)
        self.stopped = threading.Event()
        self.wake = threading.Event()  # a push in this process: apply it now
        self.thread: threading.Thread | None = None
        self.embedded = 0  # items this worker embedded, since it started

    @classmethod
    def of(
        cls,
        engine: Feed,
        config: FeedConfig,
        *,
        sources: bool = True,
        looked: Looked | None = None,
        stepped: Stepped | None = None,
        alive: Callable[[], bool] | None = None,
    ) -> FeedWorker:
        """A worker as the `feed_*` settings say: their folders and URLs (without `sources`,
        pushes alone), poll interval and batch."""
        return cls(
            engine,
            folders=config.feed_folders if sources else (),
            urls=config.feed_urls if sources else (),
            every=config.feed_poll_seconds,
            batch=config.feed_batch,
            looked=looked,
            stepped=stepped,
            alive=alive,
        )

    def start(self) -> Self:
        """Run in a daemon thread (a server's); `stop` ends and joins it."""
        self.thread = threading.Thread(target=self.run, name="likewise-feed", daemon=True)
        self.thread.start()
        return self

    def stop(self, timeout: float = 60.0) -> None:
        """Finish the batch in hand, then stop, give up the lease and join the thread."""
        self.stopped.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def run(self) -> None:
        """Turn until `stop`: a failing source or store is logged and tried again next turn.
        A push to this process's engine meanwhile wakes it at once."""
        self.engine.feed_wake = self.wake
        try:
            while not self.stopped.is_set():
                if self.alive is not None and not self.alive():
                    self.gone = True
                    break
                try:
                    self.turn()
                except LikewiseError as exc:
                    log.warning("the feed waits: %s", exc)
                except Exception:
                    log.exception("the feed's turn failed; it tries again")
                self.wake.wait(self.every)
                self.wake.clear()
        finally:
            self.engine.feed_wake = None
            try:
                self.engine.store.feed_release(self.owner)
            except LikewiseError as exc:  # the lease then runs out by itself
                log.debug("the feed's lease was not given up: %s", exc)

    def turn(self) -> bool:
        """One look at the sources and the queue applied to its end (or `stop`), if this
        worker holds the lease; False when another does."""
        if not self._leased():
            return False
        self.look()
        while not self.stopped.is_set():
            step = self.engine.apply_feed(batch=self.batch)
            if not step.taken:
                break
            self.embedded += step.embedded
            if self.stepped is not None:
                self.stepped(step)
            if not self._leased():  # renewed between batches; lost: another applies
                return False
        return True

    def look(self) -> None:
        """Queue what each source holds that is new: each file once, each URL if changed."""
        store = self.engine.store
        for folder in self.folders:
            for key, path in folder.ready():
                if store.feed_taken(key):
                    continue
                queued = store.feed_enqueue(folder.read(path), file=key)
                if self.looked is not None:
                    self.looked(path.name, queued)
        for url in self.urls:
            try:
                polled = poll(url, store.feed_cursor(url), self.engine.limits)
            except LikewiseError as exc:  # one URL down does not hold the others back
                log.warning("the feed could not read %s: %s", url, exc)
                continue
            if polled is not None:
                changes, cursor = polled
                queued = store.feed_enqueue(changes, cursor=cursor)
                if self.looked is not None:
                    self.looked(url, queued)

    def _leased(self) -> bool:
        store = self.engine.store
        holder = store.feed_lease(self.owner, self.lease_seconds)
        if holder != self.owner and _dead_here(holder):
            holder = store.feed_lease(self.owner, self.lease_seconds, steal=holder)
        return holder == self.owner


def _dead_here(owner: str) -> bool:
    """True when `owner` ("host:pid:tag") was a process of this host that is gone."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


_STARTING = threading.Lock()


class Pushes(Feed):
    """The Engine's worker for pushes: a server answering `POST /v1/feed` on an engine with
    no feed worker in its process (no feed source set, or a tenant's engine) starts one, with
    no source, so what is pushed is applied within seconds without `likewise watch`. It takes
    the store's lease like any worker: where another process holds it, that one applies."""

    _pushes: FeedWorker | None = None

    def follow_pushes(self) -> None:
        """Start this engine's worker for pushes unless one runs here (`close` stops it)."""
        with _STARTING:
            if self.feed_wake is None and self._pushes is None:
                config = self.settings.feed
                worker = FeedWorker.of(self, config, sources=False)
                self._pushes = worker.start()

    def stop_pushes(self) -> None:
        if self._pushes is not None:
            self._pushes.stop()
            self._pushes = None
