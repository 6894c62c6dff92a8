"""The feed's part of the Store contract: a durable queue of item changes, the files and HTTP
cursors already taken, and the lease that lets one worker at a time apply the queue.

The queue is what makes a feed survive a crash: a change is queued in one transaction with
the mark that its source was read (a file's name, a URL's ETag), and marked done only after
the engine has written it, so a worker killed in between finds it pending at its next start.
Applying a change twice is harmless: the engine's ingest embeds only what changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

__all__ = ["Cursor", "FeedChange", "FeedCounts", "FeedRow", "FeedStore"]

Op = Literal["upsert", "delete", "fail"]


@dataclass(frozen=True)
class FeedChange:
    """One change to queue: an item's record to upsert (as JSON), a deletion, or a failure
    (a record that could not be read, kept to be shown: `error` as JSON naming its source
    and field). `hash` is the record's digest, so a change queued twice is queued once."""

    item_id: str
    op: Op
    source: str
    hash: str = ""
    record: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class FeedRow:
    """A pending change as the worker takes it (`seq`: its place in the queue)."""

    seq: int
    item_id: str
    op: Op
    source: str
    record: str | None


@dataclass(frozen=True)
class Cursor:
    """What an HTTP source last answered: its `ETag` and `Last-Modified` headers."""

    url: str
    etag: str | None = None
    modified: str | None = None


@dataclass(frozen=True)
class FeedCounts:
    """The queue at a glance: how many changes wait, were applied and failed; when the oldest
    waiting one was queued (epoch seconds, None when none waits); the latest failures."""

    pending: int = 0
    done: int = 0
    failed: int = 0
    oldest: float | None = None
    failures: list[dict[str, object]] = field(default_factory=list)


class FeedStore(Protocol):
    """The queue's methods; every backend gets them from `store.sql.feed.FeedQueue`."""

    def feed_enqueue(
        self,
        changes: Sequence[FeedChange],
        *,
        file: str | None = None,
        cursor: Cursor | None = None,
    ) -> int:
        """Queue `changes` in one transaction; with `file`, only if that file (its path,
        size and time) was not taken before, and mark it taken; with `cursor`, keep it.
        Returns how many changes were queued (0 for a file taken before)."""
        ...

    def feed_taken(self, file: str) -> bool:
        """True when `file` (as given to :meth:`feed_enqueue`) was taken."""
        ...

    def feed_cursor(self, url: str) -> Cursor | None:
        """The headers `url` last answered, or None."""
        ...

    def feed_take(self, limit: int) -> list[FeedRow]:
        """The oldest `limit` pending changes, in queue order (nothing is marked)."""
        ...

    def feed_finish(self, done: Sequence[int], failed: Sequence[tuple[int, str]]) -> None:
        """Mark changes applied, or failed with their error (JSON), in one transaction."""
        ...

    def feed_counts(self, *, failures: int = 10) -> FeedCounts:
        """The queue's counts, lag and latest `failures`."""
        ...

    def feed_lease(self, owner: str, seconds: float, *, steal: str | None = None) -> str:
        """Take or renew the worker's lease for `seconds`; returns the owner after the call
        (`owner` when it holds it). `steal` takes it from that owner, known to be dead."""
        ...

    def feed_release(self, owner: str) -> None:
        """Give the lease up, if `owner` holds it."""
        ...
