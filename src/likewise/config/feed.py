"""The feed settings: which sources `likewise serve` follows by itself, how often, and how many
queued changes one step embeds.

A server with none of `feed_folders` and `feed_urls` runs no feed worker; pushes to
`POST /v1/feed` are still queued, and `likewise watch` (or a server with a source) applies them.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from likewise.config.base import Component

__all__ = ["FeedConfig"]


class FeedConfig(Component):
    """Where new and changed items come from without anyone running `ingest`."""

    section: ClassVar[str] = "feed"

    feed_folders: list[str] = Field(
        [],
        description="folders whose .jsonl/.csv drops are queued, each file once, when its "
        'size has stopped changing (JSON list); a record {"id": ..., "deleted": true} deletes',
    )
    feed_urls: list[str] = Field(
        [],
        description="HTTP(S) JSON feeds polled with ETag / If-Modified-Since (JSON list); "
        'each answers a JSON array of items, or {"items": [...]}',
    )
    feed_poll_seconds: float = Field(
        5.0, gt=0, le=86_400, description="seconds between two looks at the folders and URLs"
    )
    feed_batch: int = Field(
        256, ge=1, le=100_000, description="queued changes taken, embedded and applied at once"
    )

    @field_validator("feed_urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if urlsplit(url).scheme not in ("http", "https"):
                raise ValueError(f"{url!r} is not an http:// or https:// URL")
        return urls

    def any_source(self) -> bool:
        """True when the server should run the feed worker."""
        return bool(self.feed_folders or self.feed_urls)
