"""Pages of a listing: what a cursor-paged read returns, in the one shape every face prints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from likewise.errors import InvalidInput
from likewise.events.model import Event
from likewise.items.model import Item

__all__ = ["MAX_PAGE", "EventPage", "ItemPage", "check_limit"]

MAX_PAGE = 1_000


def check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"must be an integer from 1 to {MAX_PAGE}", field="limit")


@dataclass(frozen=True)
class ItemPage:
    """Items in id order; `next_cursor` reads the next page (None: this was the last)."""

    items: list[Item]
    next_cursor: str | None

    def as_dict(self) -> dict[str, Any]:
        """`{"items": [records as stored], "next_cursor"}`."""
        return {"items": [i.to_record() for i in self.items], "next_cursor": self.next_cursor}


@dataclass(frozen=True)
class EventPage:
    """A user's events, newest first; `next_cursor` reads older ones (None: no more)."""

    events: list[Event]
    next_cursor: str | None

    def as_dict(self) -> dict[str, Any]:
        """`{"events": [records as recorded], "next_cursor"}`."""
        return {
            "events": [e.model_dump() for e in self.events],
            "next_cursor": self.next_cursor,
        }
