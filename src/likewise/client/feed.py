"""The feed's calls of :class:`likewise.Client`, as :class:`likewise.engine.feed.Feed` has
them on the Engine: pushes queued for the feed's worker, and the queue's state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from likewise.engine.feed_report import FeedPush, FeedStatus

if TYPE_CHECKING:
    from likewise.client.http import Transport

__all__ = ["FeedCalls"]


class FeedCalls:
    """Mixed into the Client, which owns `transport`."""

    transport: Transport

    def push_feed(self, records: Sequence[Mapping[str, Any]]) -> FeedPush:
        """As :meth:`Engine.push_feed` (`POST /v1/feed`, answered 202): all valid or nothing
        queued. Repeated on a lost connection: a change already waiting is not queued again."""
        body = self.transport.call("POST", "/v1/feed", body=list(records), idempotent=True)
        return FeedPush(**{k: int(body[k]) for k in FeedPush().as_dict()})

    def feed_status(self, *, failures: int = 10) -> FeedStatus:
        """As :meth:`Engine.feed_status` (`GET /v1/feed`)."""
        body = self.transport.call(
            "GET", "/v1/feed", params={"failures": failures}, idempotent=True
        )
        return FeedStatus(
            pending=int(body["pending"]),
            done=int(body["done"]),
            failed=int(body["failed"]),
            lag=float(body["lag"]),
            failures=list(body["failures"]),
        )
