"""The returning-users half of the Engine: cohort retention and engagement time per strategy.

Definitions (first seen, day-N retention, eligible members) are in
`likewise.tracking.retention`; the SQL in `likewise.store.sql.retention`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from likewise.engine.tracking import Tracker
from likewise.errors import InvalidInput
from likewise.store import Store
from likewise.tracking.retention import DAY, CohortRow, EngagementRow

__all__ = ["DAYS", "Retention"]

DAYS = (1, 7, 30)
MAX_DAY = 366  # a year and a day: past it, cohorts are rarely old enough to say anything
MAX_DAYS = 10  # each day N is two more sums in the one grouped query


class Retention:
    """Who comes back, and how long lists hold attention. Mixed into the Engine, which owns
    `tracker` and `store`."""

    tracker: Tracker
    store: Store

    def retention_report(
        self,
        *,
        by: str = "day",
        since: float = 0.0,
        until: float | None = None,
        days: Sequence[int] = DAYS,
    ) -> list[CohortRow]:
        """Users grouped by the UTC day (`by="day"`) or ISO week (`"week"`, named by its
        Monday) of their first event, from the day of `since` on: each cohort's size and,
        for each N in `days`, how many members had an event on day N after their first
        (classic N-day retention) among those whose day N ended before `until` (default:
        now). A cohort too young for day N has no rate rather than 0."""
        if by not in ("day", "week"):
            raise InvalidInput("must be 'day' or 'week'", field="by")
        start, end = _window(since, until)
        return self.store.retention_rows(by, int(start // DAY), end, _days(days))

    def engagement_report(
        self,
        *,
        group_by: str = "strategy",
        since: float = 0.0,
        until: float | None = None,
        days: Sequence[int] = DAYS,
    ) -> list[EngagementRow]:
        """Per strategy (`group_by="strategy"`, lists served by an experiment under
        EXPERIMENT:VARIANT as in the CTR report) or per experiment variant only
        (`"variant"`): the lists shown in [since, until), their users, the seconds of the
        dwell events attributed to them (total, per user, per event), and the day-N returns
        of the users whose first list shown was of that group."""
        if group_by not in ("strategy", "variant"):
            raise InvalidInput("must be 'strategy' or 'variant'", field="group_by")
        start, end = _window(since, until)
        self.tracker.impressions.flush()  # the lists queued so far count
        rows = self.store.engagement_rows(start, end, _days(days))
        return [r for r in rows if group_by == "strategy" or ":" in r.group]


def _window(since: Any, until: Any) -> tuple[float, float]:
    start = _time(since, "since")
    end = time.time() if until is None else _time(until, "until")
    if end <= start:
        raise InvalidInput("must be later than since", field="until")
    return start, end


def _time(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput("must be a finite number of seconds since the epoch", field=field)
    return float(value)


def _days(days: Any) -> tuple[int, ...]:
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
