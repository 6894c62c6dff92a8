"""The returning-users half of the Engine: cohort retention and engagement time per strategy.

Definitions (first seen, day-N retention, eligible members) are in
`likewise.tracking.retention`; the SQL in `likewise.store.sql.retention`.
"""

from __future__ import annotations

from collections.abc import Sequence

from likewise.engine.tracking import Tracker
from likewise.errors import InvalidInput
from likewise.recommend.group import GROUP_STRATEGIES
from likewise.store import Store
from likewise.tracking.retention import DAY, DAYS, CohortRow, EngagementRow, check_days, window

__all__ = ["Retention"]

GROUPS = frozenset(f"group:{s}" for s in GROUP_STRATEGIES)  # Engine.recommend_group's


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
        start, end = window(since, until)
        return self.store.retention_rows(by, int(start // DAY), end, check_days(days))

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
        start, end = window(since, until)
        self.tracker.impressions.flush()  # the lists queued so far count
        rows = self.store.engagement_rows(start, end, check_days(days))
        # EXPERIMENT:VARIANT; a group's lists (`group:STRATEGY`) have a colon too.
        return [
            r for r in rows if group_by == "strategy" or (":" in r.group and r.group not in GROUPS)
        ]
