"""/v1/feed: item changes pushed into the feed's queue, and the queue's state.

A push is only queued (202): the feed's worker (`likewise watch`, or a server with a feed
source) embeds and applies it in its next batch, within seconds.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field

from likewise.config import Settings
from likewise.engine import Engine
from likewise.engine.feed_worker import FeedWorker
from likewise.service.auth import require_read, require_write
from likewise.service.deps import check_batch, engine_of
from likewise.service.openapi import SUMMARIES

__all__ = ["counts", "follow", "router"]

router = APIRouter(prefix="/v1", tags=["feed"], dependencies=[Depends(require_read)])

# The document's summaries of these operations (`openapi.py` reads them).
SUMMARIES |= {
    "push_feed": "Queue item changes for the feed",
    "feed_status": "The feed's queue: waiting, applied, failed, lag",
}

PUSH_EXAMPLES = {
    "upserts": {"value": [{"id": "a1", "title": "Rocket reaches the moon", "category": "news"}]},
    "a deletion": {"value": [{"id": "a0", "deleted": True}]},
}


class FeedQueued(BaseModel):
    upserts: int = Field(description="item records in the push")
    deletions: int = Field(description="deletions in the push")
    queued: int = Field(description="changes queued (one already waiting is not queued again)")


class FeedState(BaseModel):
    pending: int = Field(description="changes waiting to be applied")
    done: int = Field(description="changes applied")
    failed: int = Field(description="records refused, each kept with its reason")
    lag: float = Field(description="seconds the oldest waiting change has waited (0: none)")
    failures: list[dict[str, Any]] = Field(
        description="the latest failures: `source` (file:line, url[k], api), `field`, `error`"
    )


@router.post(
    "/feed", status_code=202, response_model=FeedQueued, dependencies=[Depends(require_write)]
)
def push_feed(
    request: Request,
    body: Annotated[list[Any], Body(openapi_examples=PUSH_EXAMPLES)],  # each checked by the engine
) -> dict[str, int]:
    """Queue item records (as `PUT /v1/items` takes them) and deletions
    (`{"id": ..., "deleted": true}`) for the feed's worker, all or nothing: a bad record is
    a 422 naming `items[k].field`, and nothing is queued."""
    check_batch(request, len(body))
    engine = engine_of(request)
    queued = engine.push_feed(body).as_dict()
    engine.follow_pushes()  # applied by this server unless a feed worker runs elsewhere
    return queued


@router.get("/feed", response_model=FeedState)
def feed_status(
    request: Request,
    failures: Annotated[int, Query(ge=0, le=100, description="latest failures to list")] = 10,
) -> dict[str, Any]:
    """The feed's queue: changes waiting, applied and failed, its lag, the latest failures."""
    return engine_of(request).feed_status(failures=failures).as_dict()


def counts(app: FastAPI) -> dict[str, float] | None:
    """The queue's counts for a scrape of /metrics (None until the store is open)."""
    engine: Engine | None = getattr(app.state, "engine", None)
    if engine is None:
        return None
    status = engine.feed_status(failures=0)
    return {
        "pending": status.pending,
        "done": status.done,
        "failed": status.failed,
        "lag": status.lag,
    }


def follow(engine: Engine, settings: Settings) -> FeedWorker | None:
    """The feed's worker in a thread of this server, when the settings name a source; the
    caller stops it (which joins it) before the store closes."""
    config = settings.feed
    if not config.any_source():
        if engine.feed_status(failures=0).pending:  # pushes a crash left: applied now
            engine.follow_pushes()
        return None
    return FeedWorker.of(engine, config).start()
