"""The retention half of the `Store` contract: returning users and engagement time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from likewise.tracking.retention import CohortRow, EngagementRow

__all__ = ["Returning"]


class Returning(Protocol):
    """Reports read from the event log and the impressions (definitions in
    `likewise.tracking.retention`)."""

    def retention_rows(
        self, by: str, since_day: int, until: float, days: Sequence[int]
    ) -> list[CohortRow]:
        """Cohorts (`by` "day" or "week") of users first seen from UTC day number
        `since_day` on, each with its size and day-N returns as of `until`."""

    def engagement_rows(
        self, since: float, until: float, days: Sequence[int]
    ) -> list[EngagementRow]:
        """Per impression strategy: lists shown in [since, until), their users, the dwell
        attributed to them, and the day-N returns of the users first shown that strategy."""
