"""/v1/reports: which recommendations work, from impressions and attributed events, and who
comes back."""

from __future__ import annotations

import math
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from likewise.errors import InvalidInput
from likewise.events.model import to_epoch
from likewise.service.auth import require_read
from likewise.service.deps import engine_of
from likewise.service.openapi import SUMMARIES
from likewise.service.schemas import ActivityReport, CtrReport
from likewise.service.schemas_retention import EngagementReport, RetentionReport
from likewise.tracking.retention import DAYS, MAX_DAY, MAX_DAYS, parse_days

__all__ = ["router"]

Since = Annotated[str | None, Query(description="epoch seconds or ISO-8601 (default: everything)")]
Until = Annotated[
    str | None, Query(description="the report's time: epoch seconds or ISO-8601 (default: now)")
]
Days = Annotated[
    list[str],
    Query(
        description="the days N to report, repeated: days=1&days=7 (default: 1, 7 and 30)",
        json_schema_extra={
            "items": {"type": "integer", "minimum": 1, "maximum": MAX_DAY},
            "maxItems": MAX_DAYS,
            "uniqueItems": True,
        },
    ),
]

router = APIRouter(prefix="/v1/reports", tags=["reports"], dependencies=[Depends(require_read)])

# The document's summaries of these operations (`openapi.py` reads them).
SUMMARIES |= {
    "retention_report": "Returning users: day-N retention per cohort of first seen",
    "engagement_report": "Dwell time and returning users per strategy or variant",
}


@router.get("/ctr", response_model=CtrReport)
def ctr(
    request: Request,
    group_by: Literal[
        "strategy", "day", "day,strategy", "segment", "segment,strategy"
    ] = "strategy",
    since: Since = None,
) -> dict[str, Any]:
    """Per strategy, per day (UTC) or per `day,strategy` (groups "YYYY-MM-DD STRATEGY"):
    lists shown, lists clicked, CTR, conversions, conversion rate (each with a 95% Wilson
    interval) and mean dwell of attributed dwell events. Lists served by an experiment count
    under "EXPERIMENT:VARIANT". Per `segment` (or `segment,strategy`, groups "SEGMENT
    STRATEGY"): a user's lists count in every segment their current properties put them in;
    users in no segment are left out."""
    start = _since(since)
    rows = engine_of(request).ctr_report(group_by=group_by, since=start)
    return {"group_by": group_by, "since": start, "rows": [r.as_dict() for r in rows]}


@router.get("/activity", response_model=ActivityReport)
def activity(request: Request, since: Since = None) -> dict[str, Any]:
    """Event volume per UTC day and type, percentiles of the milliseconds each tracked list
    took to make (overall and per strategy or experiment variant), and catalog coverage (the
    share of items that appeared in at least one list)."""
    start = _since(since)
    return {"since": start, **engine_of(request).activity_report(since=start)}


@router.get("/retention", response_model=RetentionReport)
def retention_report(
    request: Request,
    by: Literal["day", "week"] = "day",
    since: Since = None,
    until: Until = None,
    days: Days = [],  # noqa: B006 (FastAPI copies a Query default)
) -> dict[str, Any]:
    """Users grouped by the UTC day (or ISO week, named by its Monday) of their first event,
    from the day of `since` on: each cohort's size and, for each day N, how many members had
    an event on the UTC day N days after their first (classic N-day retention), among those
    whose day N ended before `until`. A cohort too young for day N has a null rate, not 0."""
    start, end, wanted = _since(since), _until(until), _days(days)
    rows = engine_of(request).retention_report(by=by, since=start, until=end, days=wanted)
    body = {"by": by, "since": start, "until": end, "days": list(wanted)}
    return {**body, "rows": [r.as_dict() for r in rows]}


@router.get("/engagement", response_model=EngagementReport)
def engagement_report(
    request: Request,
    group_by: Literal["strategy", "variant"] = "strategy",
    since: Since = None,
    until: Until = None,
    days: Days = [],  # noqa: B006 (FastAPI copies a Query default)
) -> dict[str, Any]:
    """Per strategy (lists served by an experiment under "EXPERIMENT:VARIANT") or per
    experiment variant only: lists shown in [since, until), their users, the seconds of the
    dwell events attributed to them (total, per user, per event), and the day-N returns of
    the users whose first list shown was of that group."""
    start, end, wanted = _since(since), _until(until), _days(days)
    engine = engine_of(request)
    rows = engine.engagement_report(group_by=group_by, since=start, until=end, days=wanted)
    body = {"group_by": group_by, "since": start, "until": end, "days": list(wanted)}
    return {**body, "rows": [r.as_dict() for r in rows]}


def _since(since: str | None, field: str = "since") -> float:
    if since is None:
        return 0.0
    try:
        start = to_epoch(since)
    except ValueError as exc:
        raise InvalidInput(str(exc), field=field) from None
    if not math.isfinite(start):  # `nan` and `inf` parse as numbers
        raise InvalidInput("must be a time: epoch seconds or ISO-8601", field=field)
    return start


def _until(until: str | None) -> float:
    return time.time() if until is None else _since(until, "until")


def _days(days: list[str]) -> tuple[int, ...]:
    return parse_days(days) if days else DAYS
