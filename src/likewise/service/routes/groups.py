"""/v1/groups/recommendations: one list for a group of users watching together."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from likewise.engine import MAX_N
from likewise.recommend.group import MAX_MEMBERS
from likewise.service.auth import require_read
from likewise.service.deps import engine_of
from likewise.service.openapi import SUMMARIES
from likewise.service.openapi_types import an_id
from likewise.service.schemas import Count, FastJSON, RecommendationOut, RecommendedOut

__all__ = ["router"]

router = APIRouter(prefix="/v1/groups", tags=["groups"], dependencies=[Depends(require_read)])

# The document's summaries of these operations (`openapi.py` reads them).
SUMMARIES |= {
    "recommend_group": "Recommend items for a group of users",
}

# Checked by the Engine, whose errors name the id at fault (`users[1]`) as the library's do;
# documented as typed.
Members = Annotated[
    list[Any],
    WithJsonSchema(
        {
            "type": "array",
            "items": an_id("a user with events"),
            "minItems": 2,
            "maxItems": MAX_MEMBERS,
            "uniqueItems": True,
        }
    ),
]
EXAMPLES = {
    "household": {"value": {"users": ["u1", "u2"], "n": 10}},
    "nobody_minds": {
        "value": {"users": ["u1", "u2"], "strategy": "least_misery", "where": {"category": "news"}}
    },
}


class GroupIn(BaseModel):
    """Who the group is and how its list is made."""

    model_config = ConfigDict(extra="forbid")

    users: Members = Field(description=f"the members: 2 to {MAX_MEMBERS} distinct user ids")
    n: Count = Field(10, ge=1, le=MAX_N)
    strategy: Literal["average", "least_misery", "fair"] = Field(
        "average",
        description="average: the members' mean score; least_misery: the lowest member "
        "score; fair: each next item is the best one left of the member served least so far",
    )
    where: dict[str, Any] | None = Field(None, description="metadata filter (see README)")
    space: str = Field("text", max_length=64, description="the vector space searched")


class GroupItemOut(RecommendedOut):
    for_: list[str] = Field(
        alias="for",
        description="the members whose score is above the group's median (those tied at the "
        "top when none is)",
    )


class GroupRecommendationOut(RecommendationOut):
    users: list[str] = Field(description="the group's members, as given")
    items: list[GroupItemOut]  # type: ignore[assignment]


@router.post(
    "/recommendations",
    response_model=GroupRecommendationOut,
    openapi_extra={"requestBody": {"content": {"application/json": {"examples": EXAMPLES}}}},
)
def recommend_group(request: Request, body: GroupIn) -> FastJSON:
    """One list for a group watching together, leaving out every item any member has an
    event with. Each item names the members it is for (`for`). The list is logged as an
    impression of strategy `group:STRATEGY` (under the first member): send its
    `recommendation_id` back with the events it leads to. An unknown member is a 404, a
    member with no positive event yet a 409, each naming `users[k]`."""
    rec = engine_of(request).recommend_group(
        body.users, body.n, strategy=body.strategy, where=body.where, space=body.space
    )
    request.state.strategy, request.state.users = rec.strategy, len(rec.users)  # access log
    return FastJSON(rec.as_dict())
