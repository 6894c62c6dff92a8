"""/v1/reports: which recommendations work, from impressions and attributed events."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from likewise.errors import InvalidInput
from likewise.events.model import to_epoch
from likewise.service.auth import require_read
from likewise.service.deps import engine_of
from likewise.service.schemas import ActivityReport, CtrReport

__all__ = ["router"]

Since = Annotated[str | None, Query(description="epoch seconds or ISO-8601 (default: everything)")]

router = APIRouter(prefix="/v1/reports", tags=["reports"], dependencies=[Depends(require_read)])


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


def _since(since: str | None) -> float:
    if since is None:
        return 0.0
    try:
        start = to_epoch(since)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="since") from None
    if not math.isfinite(start):  # `nan` and `inf` parse as numbers
        raise InvalidInput("must be a time: epoch seconds or ISO-8601", field="since")
    return start
