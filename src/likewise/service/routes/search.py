"""/v1/search: items closest to a free text, or to a vector of your own."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request

from likewise.errors import InvalidInput
from likewise.service.auth import require_read
from likewise.service.deps import engine_of, since_ms
from likewise.service.schemas import Hits, SearchIn

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["search"], dependencies=[Depends(require_read)])


@router.post("/search", response_model=Hits)
def search(request: Request, body: SearchIn) -> dict[str, Any]:
    """Embed the text with the model of `space` (default `text`, the store's; `image` when
    its model embeds texts too) and return the closest items; or, given a `vector` instead,
    the items closest to it in `space`. With `user_id`, the results are logged as a list
    shown (strategy "search") and carry a `recommendation_id` to send back with the clicks
    they get."""
    engine = engine_of(request)
    started = time.perf_counter()
    if (body.text is None) == (body.vector is None):
        raise InvalidInput("give text or a vector, one of the two", field="text")
    if body.text is not None:
        hits = engine.search(
            body.text,
            n=body.n,
            where=body.where,
            exclude=body.exclude,
            min_score=body.min_score,
            space=body.space or "text",
        )
    else:
        hits = engine.search_vector(
            body.vector or [],
            n=body.n,
            where=body.where,
            exclude=body.exclude,
            space=body.space or "text",
            min_score=body.min_score,
        )
    found: dict[str, Any] = {"items": [h.as_dict() for h in hits], "recommendation_id": None}
    if body.user_id is not None:
        found["recommendation_id"] = engine.track(
            body.user_id, "search", [h.id for h in hits], ms=since_ms(started)
        )
    return found
