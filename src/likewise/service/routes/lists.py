"""/v1/popular, /v1/latest and /v1/recommend: lists for no stored user."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from likewise.engine import MAX_N
from likewise.items.loaders import json_object
from likewise.service.auth import require_read
from likewise.service.deps import engine_of
from likewise.service.openapi_types import ref
from likewise.service.schemas import AnId, Count, FastJSON, Hits, Number, RecommendationOut

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["lists"], dependencies=[Depends(require_read)])

WHERE = Query(description='metadata filter as URL-encoded JSON, e.g. {"category": "news"}')
EXCLUDE = Query(description="item ids to leave out; repeat the parameter for each")


@router.get("/popular", response_model=Hits)
async def popular_items(
    request: Request,
    n: Annotated[int, Query(ge=1, le=MAX_N)] = 10,
    where: Annotated[str | None, WHERE] = None,
    exclude: Annotated[list[str], EXCLUDE] = [],  # noqa: B006 - FastAPI copies defaults
    trending: Annotated[
        bool, Query(description="weigh each event by its age (halved every 7 days)")
    ] = False,
) -> FastJSON:
    """The items with the most positive signal (score: the summed signal), passing `where`;
    the newest others follow with score 0 when too few items have events."""
    hits = engine_of(request).popular(
        n=n, where=json_object(where, "where"), exclude=exclude, trending=trending
    )
    return FastJSON({"items": [h.as_dict() for h in hits], "recommendation_id": None})


@router.get("/latest", response_model=Hits)
async def latest_items(
    request: Request,
    n: Annotated[int, Query(ge=1, le=MAX_N)] = 10,
    where: Annotated[str | None, WHERE] = None,
    exclude: Annotated[list[str], EXCLUDE] = [],  # noqa: B006 - FastAPI copies defaults
) -> FastJSON:
    """The items written last (added or changed), newest first, passing `where` (score 0)."""
    hits = engine_of(request).latest(n=n, where=json_object(where, "where"), exclude=exclude)
    return FastJSON({"items": [h.as_dict() for h in hits], "recommendation_id": None})


# Checked by the Engine, whose errors name the place (`positive[2]`); documented as typed
# (the `Example` schema, service/openapi_types.py, with the text space's dimension).
Examples = Annotated[list[Any], WithJsonSchema({"type": "array", "items": ref("Example")})]


class RecommendFrom(BaseModel):
    """What a session gave, and how to make its list."""

    model_config = ConfigDict(extra="forbid")  # examples: service/openapi.py

    positive: Examples = Field(
        [], description="item ids, or vectors of `space`, to move towards (or give `vector`)"
    )
    negative: Examples = Field([], description="item ids or vectors to move away from")
    vector: list[Number] | None = Field(
        None, min_length=1, description="a query vector of `space`'s dimension: a first positive"
    )
    space: str = Field(
        "text",
        max_length=64,
        description="the vector space the ids and vectors are of, searched there (`image`, "
        "your own; not with strategy=hybrid)",
    )
    strategy: Literal["average_vector", "best_score", "hybrid"] = "average_vector"
    n: Count = Field(10, ge=1, le=MAX_N)
    where: dict[str, Any] | None = Field(None, description="metadata filter (see README)")
    exclude: list[str] = Field([], description="item ids to leave out")
    min_score: Number | None = Field(None, allow_inf_nan=False)
    user_id: AnId | None = Field(
        None, description="who sees the list (e.g. a session id): log it, return its id"
    )
    context: dict[str, Any] | None = Field(None, description="kept with the impression")


@router.post("/recommend", response_model=RecommendationOut)
def recommend_from(request: Request, body: RecommendFrom) -> FastJSON:
    """Recommendations for no stored user (an anonymous session): from the item ids or
    vectors given as `positive` and `negative` (or a query `vector`), in the vector `space`,
    ranked as a user's list is (filters, blend, reasons). The ids given are left out."""
    rec = engine_of(request).recommend_from(
        body.positive,
        body.negative,
        n=body.n,
        strategy=body.strategy,
        where=body.where,
        exclude=body.exclude,
        min_score=body.min_score,
        user_id=body.user_id,
        context=body.context,
        vector=body.vector,
        space=body.space,
    )
    request.state.strategy, request.state.users = rec.strategy, 1  # for the access log
    return FastJSON(rec.as_dict())
