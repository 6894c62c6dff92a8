"""/v1/events: record one event or a batch; profiles are updated in the same transaction.
/v1/impressions: log a list shown that likewise did not make."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from likewise.engine import MAX_N
from likewise.events import UnknownItems
from likewise.service.auth import Keys, require_events
from likewise.service.deps import check_batch, engine_of
from likewise.service.schemas import AnId, EventsAccepted

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["events"], dependencies=[Depends(require_events)])

EVENT_EXAMPLE = {"user_id": "u1", "item_id": "a1", "type": "click", "recommendation_id": "..."}


@router.post("/events", response_model=EventsAccepted)
def record(
    request: Request,
    body: Annotated[  # each event checked by the engine: a bad one named `events[k]`
        dict[str, Any] | list[Any], Body(examples=[EVENT_EXAMPLE, [EVENT_EXAMPLE]])
    ],
    unknown_items: Annotated[
        UnknownItems | None,
        Query(
            description="an event on an item not in the store: reject the request, create "
            "the item (just its id; a write key only) or skip the event (counted in "
            "`skipped`); default: the unknown_items setting"
        ),
    ] = None,
) -> dict[str, int]:
    """Record an event (an object) or a batch (an array), durably, all or nothing.

    Fields: `user_id`, `item_id`, `type` (view, click, like, dislike, purchase, skip, rating,
    dwell, ...), optional `value`, `context`, `timestamp`, `event_id` (a resend is a no-op)
    and `recommendation_id` (attributes the event to a served list). A bad field is named
    as `value` (an object) or `events[3].value` (an array).
    """
    if unknown_items == "create":  # it writes to the catalog: not for the key pages publish
        _may_create(request)
    engine = engine_of(request)
    if isinstance(body, dict):
        request.state.users = 1  # for the access log
        report = engine.record_event(body, unknown_items=unknown_items)
    else:
        check_batch(request, len(body))
        report = engine.record_many(body, unknown_items=unknown_items)
        request.state.users = len({str(e.get("user_id")) for e in body})  # for the access log
    metrics = request.app.state.metrics
    metrics.events.inc(report.accepted)
    metrics.duplicates.inc(report.duplicates)
    return report.as_dict()


def _may_create(request: Request) -> None:
    """403 unless the request's key may write: `unknown_items=create` makes catalog items."""
    keys: Keys = request.app.state.keys
    try:
        keys.require("write")(request)
    except HTTPException as exc:
        if exc.status_code != 403:
            raise
        why = "unknown_items=create makes catalog items: it needs a write key"
        raise HTTPException(403, f"{why} (an events key may record events only)") from None


class ListShown(BaseModel):
    """A list shown to a user that likewise did not make (or made without a user)."""

    model_config = ConfigDict(extra="forbid")

    user_id: AnId
    strategy: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$", description="the name it is reported under"
    )
    items: list[AnId] = Field(  # ids an item can have: the reports count them as items
        max_length=MAX_N, description="the item ids shown, in order"
    )
    context: dict[str, Any] | None = Field(None, description="kept with the impression")


class Tracked(BaseModel):
    recommendation_id: str = Field(description="send it back with the events the list leads to")


@router.post("/impressions", response_model=Tracked)
def track_list(request: Request, body: ListShown) -> dict[str, str]:
    """Log a list shown to a user that /recommendations did not make (your own list, a
    shelf, an email) as an impression under `strategy`; its `recommendation_id` attributes
    the clicks and conversions it leads to, in the reports and experiments."""
    rec_id = engine_of(request).track(body.user_id, body.strategy, body.items, context=body.context)
    return {"recommendation_id": rec_id}
