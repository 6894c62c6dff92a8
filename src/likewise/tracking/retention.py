"""Returning users and engagement time: the rows of the retention and engagement reports.

Definitions, the same in every face:

- A user is *first seen* on the UTC day of their first event (impressions are not visits: a
  newsletter list is logged for users who never came).
- *Day-N retention* is classic N-day retention: the share of a cohort with at least one event
  on the UTC day exactly N days after the day they were first seen (not "within N days").
- A member counts towards day N only once that day has ended before the report's time
  (`eligible`); a cohort with no eligible member has no rate (None), not 0.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from likewise.errors import InvalidInput
from likewise.tracking.report import wilson

__all__ = [
    "DAY",
    "DAYS",
    "MAX_DAY",
    "MAX_DAYS",
    "CohortRow",
    "EngagementRow",
    "Returns",
    "check_days",
    "day_name",
    "parse_days",
    "window",
]

DAY = 86_400.0
DAYS = (1, 7, 30)
MAX_DAY = 366  # a year and a day: past it, cohorts are rarely old enough to say anything
MAX_DAYS = 10  # each day N is two more sums in the one grouped query
FIRST_MOMENT = -62_135_596_800.0  # 0001-01-01T00:00:00Z, as events are bounded
LAST_MOMENT = 253_402_300_800.0  # 10000-01-01T00:00:00Z
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def day_name(day: int) -> str:
    """The UTC day numbered `day` since 1970-01-01, as YYYY-MM-DD."""
    return (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class Returns:
    """Day `day` of a cohort: members whose day `day` has ended, and how many of them had an
    event on it."""

    day: int
    eligible: int
    returned: int

    def as_dict(self) -> dict[str, Any]:
        known = self.eligible > 0
        return {
            "day": self.day,
            "eligible": self.eligible,
            "returned": self.returned,
            "rate": self.returned / self.eligible if known else None,
            "ci95": list(wilson(self.returned, self.eligible)) if known else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Returns:
        return cls(int(data["day"]), int(data["eligible"]), int(data["returned"]))


@dataclass(frozen=True)
class CohortRow:
    """Users first seen on one UTC day (or in one week, named by its Monday)."""

    cohort: str
    users: int
    returns: tuple[Returns, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "cohort": self.cohort,
            "users": self.users,
            "returns": [r.as_dict() for r in self.returns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CohortRow:
        returns = tuple(Returns.from_dict(r) for r in data["returns"])
        return cls(str(data["cohort"]), int(data["users"]), returns)


@dataclass(frozen=True)
class EngagementRow:
    """One strategy (or EXPERIMENT:VARIANT): the lists shown, the users shown them, the dwell
    events attributed to those lists (their seconds summed), and the day-N returns of the
    users whose first list shown was of this group (`first_shown` of them)."""

    group: str
    impressions: int
    users: int
    dwell_events: int
    dwell_seconds: float
    first_shown: int
    returns: tuple[Returns, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "impressions": self.impressions,
            "users": self.users,
            "dwell_events": self.dwell_events,
            "dwell_seconds": self.dwell_seconds,
            "dwell_per_user": self.dwell_seconds / self.users if self.users else None,
            "mean_dwell": self.dwell_seconds / self.dwell_events if self.dwell_events else None,
            "first_shown": self.first_shown,
            "returns": [r.as_dict() for r in self.returns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngagementRow:
        return cls(
            str(data["group"]),
            int(data["impressions"]),
            int(data["users"]),
            int(data["dwell_events"]),
            float(data["dwell_seconds"]),
            int(data["first_shown"]),
            tuple(Returns.from_dict(r) for r in data["returns"]),
        )


def window(since: Any, until: Any) -> tuple[float, float]:
    """The report's [since, until) in epoch seconds (`until` None: now), or InvalidInput
    naming the bound that is not a finite number. An empty window (`until` not after
    `since`) is no error: it holds no cohort and no list."""
    start = _time(since, "since")
    end = time.time() if until is None else _time(until, "until")
    return start, end


def _time(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput("must be a finite number of seconds since the epoch", field=field)
    # Events are stamped within years 1 to 9999, so a bound beyond them means the same as
    # that end of the range; held there, every day number the SQL makes fits in 64 bits.
    return min(max(float(value), FIRST_MOMENT), LAST_MOMENT)


def check_days(days: Any) -> tuple[int, ...]:
    """The days N to report, sorted, or InvalidInput naming `days`: 1 to `MAX_DAYS` whole
    numbers from 1 to `MAX_DAY`, none repeated."""
    if isinstance(days, str | bytes) or not isinstance(days, Sequence):
        raise InvalidInput("must be a list of whole days", field="days")
    if not 1 <= len(days) <= MAX_DAYS:
        raise InvalidInput(f"must name 1 to {MAX_DAYS} days", field="days")
    for n in days:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_DAY:
            raise InvalidInput(f"each day must be a whole number from 1 to {MAX_DAY}", field="days")
    if len(set(days)) != len(days):
        raise InvalidInput("must not repeat a day", field="days")
    return tuple(sorted(days))


def parse_days(texts: Sequence[str]) -> tuple[int, ...]:
    """`check_days` of days given as text (a query string's `days=1&days=7`)."""
    found: list[int] = []
    for text in texts:
        if not text.isascii() or not text.isdigit():
            raise InvalidInput(f"each day must be a whole number from 1 to {MAX_DAY}", field="days")
        found.append(int(text.lstrip("0")[:6] or "0"))  # a longer one is out of range anyway
    return check_days(found)
