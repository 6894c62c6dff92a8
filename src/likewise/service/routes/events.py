"""/v1/events: record one event or a batch; profiles are updated in the same transaction."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request

from likewise.events import UnknownItems
from likewise.service.auth import require_events
from likewise.service.deps import engine_of
from likewise.service.schemas import EventsAccepted

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["events"], dependencies=[Depends(require_events)])

EVENT_EXAMPLE = {"user_id": "u1", "item_id": "a1", "type": "click", "recommendation_id": "..."}


@router.post("/events", response_model=EventsAccepted)
def record(
    request: Request,
    body: Annotated[
        dict[str, Any] | list[dict[str, Any]], Body(examples=[EVENT_EXAMPLE, [EVENT_EXAMPLE]])
    ],
    unknown_items: Annotated[
        UnknownItems | None,
        Query(
            description="an event on an item not in the store: reject the request, create "
            "the item (just its id) or skip the event (counted in `skipped`); default: the "
            "unknown_items setting"
        ),
    ] = None,
) -> dict[str, int]:
    """Record an event (an object) or a batch (an array), durably, all or nothing.

    Fields: `user_id`, `item_id`, `type` (view, click, like, dislike, purchase, skip, rating,
    dwell, ...), optional `value`, `context`, `timestamp`, `event_id` (a resend is a no-op)
    and `recommendation_id` (attributes the event to a served list). A bad field is named
    as `value` (an object) or `events[3].value` (an array).
    """
    engine = engine_of(request)
    if isinstance(body, dict):
        report = engine.record_event(body, unknown_items=unknown_items)
    else:
        report = engine.record_many(body, unknown_items=unknown_items)
    metrics = request.app.state.metrics
    metrics.events.inc(report.accepted)
    metrics.duplicates.inc(report.duplicates)
    return report.as_dict()
