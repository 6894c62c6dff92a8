"""The part of the Store contract that keeps users' properties and the segments over them
(`store/sql/segments.py` implements it for both SQL stores)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

__all__ = ["SegmentRow", "SegmentStore"]

# (user, strategy, lists shown, clicked, converted, sum and count of per-list mean dwell)
SegmentRow = tuple[str, str, int, int, int, float, int]


class SegmentStore(Protocol):
    """Users' properties (one flat JSON object per user) and segments (named `where`
    filters over them). Membership is evaluated by the caller over the current properties."""

    def put_user_properties(
        self, rows: Sequence[tuple[str, Mapping[str, Any]]], *, replace: bool
    ) -> None:
        """Set each user's properties in one transaction: merged into the stored ones (a
        None value removes its key) or, with `replace`, instead of them."""

    def user_properties(self, user_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The properties of each given user that has any."""

    def properties_page(self, *, after: str = "", limit: int) -> list[tuple[str, dict[str, Any]]]:
        """Up to `limit` users with properties, by id, after the id `after`."""

    def put_segment(self, name: str, where: Mapping[str, Any]) -> bool:
        """Create or replace a segment; True if it is new."""

    def segments(self) -> dict[str, dict[str, Any]]:
        """Every segment's filter, by name."""

    def delete_segment(self, name: str) -> bool:
        """Delete a segment; False if there was none of that name."""

    def segment_inputs(self, user_id: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """A user's properties and every segment's filter, in one read."""

    def segment_rate_rows(
        self, since: float, clicks: Sequence[str], conversions: Sequence[str]
    ) -> list[SegmentRow]:
        """Impressions since `since` counted per (user, strategy), as `rate_rows` counts
        them per group."""
