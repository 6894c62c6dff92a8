"""/v1/reports: which recommendations work, from impressions and attributed events."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from likewise.errors import InvalidInput
from likewise.events.model import to_epoch
from likewise.service.auth import require_read
from likewise.service.deps import engine_of
from likewise.service.schemas import CtrReport

__all__ = ["router"]

router = APIRouter(prefix="/v1/reports", tags=["reports"], dependencies=[Depends(require_read)])


@router.get("/ctr", response_model=CtrReport)
def ctr(
    request: Request,
    group_by: Literal["strategy", "day", "day,strategy"] = "strategy",
    since: Annotated[
        str | None, Query(description="epoch seconds or ISO-8601 (default: everything)")
    ] = None,
) -> dict[str, Any]:
    """Per strategy, per day (UTC) or per `day,strategy` (groups "YYYY-MM-DD STRATEGY"):
    lists shown, lists clicked, CTR, conversions, conversion rate (each with a 95% Wilson
    interval) and mean dwell of attributed dwell events. Lists served by an experiment count
    under "EXPERIMENT:VARIANT"."""
    start = 0.0
    if since is not None:
        try:
            start = to_epoch(since)
        except ValueError as exc:
            raise InvalidInput(str(exc), field="since") from None
    rows = engine_of(request).ctr_report(group_by=group_by, since=start)
    return {"group_by": group_by, "since": start, "rows": [r.as_dict() for r in rows]}
