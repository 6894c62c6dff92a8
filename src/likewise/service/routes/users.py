"""/v1/users: recommendations ("for you"), profiles, onboarding, forgetting a user."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from likewise.engine import MAX_N, Engine
from likewise.engine.pages import MAX_PAGE
from likewise.items.loaders import json_object
from likewise.items.model import NOT_BLANK, invalid_input
from likewise.recommend import RECOMMENDERS
from likewise.recommend.spaces import parse_spaces
from likewise.service.auth import require_private, require_read, require_write
from likewise.service.deps import engine_of
from likewise.service.lean import Lean
from likewise.service.openapi_types import an_id
from likewise.service.schemas import FastJSON, RecommendationOut

__all__ = ["reads", "writes"]

reads = APIRouter(prefix="/v1/users", tags=["users"], dependencies=[Depends(require_read)])
writes = APIRouter(prefix="/v1/users", tags=["users"], dependencies=[Depends(require_write)])

Strategy = Literal["dislike", "ema", "mean", "momentum", "hybrid", "popular"]


class RecommendQuery(BaseModel):
    """The query of /recommendations, validated in one step (the hot path skips FastAPI's
    per-parameter machinery; the same parameters are documented in the OpenAPI below)."""

    model_config = ConfigDict(extra="forbid")  # `known_query` names an unknown one first

    n: int = Field(10, ge=1, le=MAX_N)
    strategy: Strategy | None = None
    where: str | None = None
    context: str | None = None
    include_seen: bool = False
    weights: str | None = None
    diversity: float | None = Field(None, ge=0, le=1)
    space: str = Field("text", max_length=64)
    spaces: str | None = Field(None, max_length=1024)
    exclude: list[str] = []
    offset: int = Field(0, ge=0, le=MAX_N - 1)
    min_score: float | None = Field(None, allow_inf_nan=False)


def _param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


RECOMMEND_PARAMS = [
    _param("n", {"type": "integer", "minimum": 1, "maximum": MAX_N, "default": 10}, "how many"),
    _param("strategy", {"type": "string", "enum": list(RECOMMENDERS)}, "default: settings"),
    _param("where", {"type": "string"}, "metadata filter as JSON"),
    _param(
        "context", {"type": "string"}, 'JSON, e.g. {"device": "mobile"}; kept with the impression'
    ),
    _param("include_seen", {"type": "boolean", "default": False}, "keep items the user has seen"),
    _param(
        "weights",
        {"type": "string"},
        'hybrid: JSON source weights, e.g. {"collaborative": 1, "content": 0.5}; only with '
        "strategy=hybrid or none (it then asks for the hybrid), else 422",
    ),
    _param(
        "diversity",
        {"type": "number", "minimum": 0, "maximum": 1},
        "hybrid: variety, 0 to 1; only with strategy=hybrid or none, else 422",
    ),
    _param(
        "space",
        {"type": "string", "default": "text", "maxLength": 64},
        "where a profile strategy searches: content (`text`), vectors learned from behaviour "
        "(`behaviour`, once trained; 409 before), or any other space (`image`, your own: "
        "the user's vector there is made from their events' items); not with "
        "strategy=hybrid or popular (422)",
    ),
    _param(
        "spaces",
        {"type": "string", "maxLength": 1024},
        "a profile strategy in several spaces blended by weight, e.g. `text:0.6,image:0.4` "
        "(each candidate's cosines summed, 0 in a space it has no vector in); not with "
        "`space`, strategy=hybrid or popular (422)",
    ),
    _param(
        "exclude",
        {"type": "array", "items": {"type": "string"}},
        "item ids to leave out; repeat the parameter for each",
    ),
    _param(
        "offset",
        {"type": "integer", "minimum": 0, "maximum": MAX_N - 1, "default": 0},
        f"skip this many better items: the next page (positions go on from there); a list "
        f"ends at position {MAX_N}, so a page that would pass it is served short. Exact for "
        "the profile strategies and popular; the hybrid scales each source over the "
        "candidates of the length asked, so its pages may overlap: page a hybrid list with "
        "`exclude` of the ids shown",
    ),
    _param(
        "min_score",
        {"type": "number"},  # JSON has no NaN or infinity; the query refuses them
        "leave out items scored below this: a short list rather than weak matches",
    ),
]


async def recommendations(request: Request, user_id: str) -> FastJSON:
    """Items for this user; popular ones for a user with no profile. The response's
    `recommendation_id` ties later clicks and conversions (events) to this list."""
    params = request.query_params
    try:
        query = RecommendQuery.model_validate({**params, "exclude": params.getlist("exclude")})
    except ValidationError as exc:
        raise invalid_input(exc) from None
    rec = engine_of(request).recommend(
        user_id,
        n=query.n,
        strategy=query.strategy,
        where=json_object(query.where, "where"),
        context=json_object(query.context, "context"),
        include_seen=query.include_seen,
        weights=json_object(query.weights, "weights"),
        diversity=query.diversity,
        space=query.space,
        spaces=parse_spaces(query.spaces),
        exclude=query.exclude,
        offset=query.offset,
        min_score=query.min_score,
    )
    request.state.strategy = rec.strategy  # for the access log
    metrics = request.app.state.metrics
    metrics.recommendations.labels(rec.strategy).inc()
    if rec.cached:
        metrics.cache_hits.labels(rec.strategy).inc()
    return FastJSON(rec.as_dict())


reads.add_api_route(  # the hottest route: its checks run without the dependency solver
    "/{user_id}/recommendations",
    recommendations,
    methods=["GET"],
    response_model=RecommendationOut,
    openapi_extra={"parameters": RECOMMEND_PARAMS},
    route_class_override=Lean,
)


@reads.get("/{user_id}/profile", dependencies=[Depends(require_private)])
async def profile(
    request: Request, user_id: str, n: Annotated[int, Query(ge=1, le=MAX_N)] = 5
) -> dict[str, Any]:
    """Counts, settings and the items nearest the user's interest vector."""
    return engine_of(request).profile(user_id, n=n)


@reads.get("/{user_id}/events", dependencies=[Depends(require_private)])
async def user_events(
    request: Request,
    user_id: str,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: Annotated[
        str | None,
        Query(
            pattern="^[0-9]{1,18}$",
            description="the next_cursor of the page before: older events",
        ),
    ] = None,
) -> dict[str, Any]:
    """A user's events, newest first, as recorded; `next_cursor` reads older ones (null:
    no more)."""
    return engine_of(request).user_events(user_id, limit=limit, cursor=cursor).as_dict()


@writes.delete("/{user_id}/events")
def delete_user_events(request: Request, user_id: str) -> dict[str, Any]:
    """Delete a user's events and what was learned from them (profile, snapshots, their
    share of popularity); the lists they were shown stay in the reports."""
    return {"user_id": user_id, "deleted": engine_of(request).delete_user_events(user_id)}


def _text_or_items(schema: dict[str, Any]) -> None:
    """The chosen items are ids; and one of the two fields must be given."""
    schema["properties"]["items"]["items"] = an_id("a stored item")
    schema["anyOf"] = [
        {"required": ["text"], "properties": {"text": {"type": "string"}}},
        {"required": ["items"], "properties": {"items": {"minItems": 1}}},
    ]


class OnboardUserBody(BaseModel):
    """Interests in words and/or chosen items: at least one of the two."""

    # A misspelt field is a 422 naming it, not an onboarding from the other field alone
    # (which a resend could not then correct: the user has a history, 409).
    model_config = ConfigDict(extra="forbid", json_schema_extra=_text_or_items)

    text: str | None = Field(
        None,
        description="interests in words (not blank); 409 if the model finds no direction in them",
        json_schema_extra={"pattern": NOT_BLANK},
    )
    items: list[str] = Field([], description="chosen item ids")


@writes.post("/{user_id}/onboarding", status_code=204)
def onboard(request: Request, user_id: str, body: OnboardUserBody) -> None:
    """Start a new user from onboarding text and/or chosen items (409 if they have a history)."""
    engine_of(request).onboard(user_id, text=body.text, items=body.items)


@writes.delete("/{user_id}")
def forget(request: Request, user_id: str) -> dict[str, Any]:
    """Forget a user: their events, profile, snapshots and impressions are deleted, in every
    server process on the store (none writes an impression of theirs made before, none
    answers from a cached list). The trained models keep what they learned from them until
    the next `train`; `models` says when that is, when a model is trained."""
    engine = engine_of(request)
    deleted = engine.forget_user(user_id)
    every: float = request.app.state.train_every
    return {"user_id": user_id, "deleted": deleted, "models": _models_note(engine, every)}


def _models_note(engine: Engine, every: float) -> str | None:
    if engine.model() is None:
        return None
    when = (
        f"the next scheduled train (this server retrains every {every:g} s)"
        if every
        else "the next `likewise train` (none is scheduled: LIKEWISE_TRAIN_EVERY is 0)"
    )
    return f"the trained models keep this user's co-occurrences until {when}"
