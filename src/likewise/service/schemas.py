"""Wire schemas: what the HTTP API accepts and returns (separate from domain types)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi.responses import Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from likewise.engine import MAX_N
from likewise.items.model import MAX_ID_LENGTH
from likewise.service.openapi_types import ID_PATTERN

__all__ = [
    "MAX_DIM",
    "AnId",
    "Count",
    "CtrReport",
    "CtrRow",
    "ErrorOut",
    "EventsAccepted",
    "FastJSON",
    "HitOut",
    "Hits",
    "IngestOut",
    "ItemWritten",
    "Number",
    "RecommendationOut",
    "RecommendedOut",
    "SearchIn",
    "SpaceIn",
    "SpaceOut",
    "Spaces",
]


# A user or item id as the library checks it: 1-512 characters, not blank, no control ones.
AnId = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN)]


def _a_number(value: Any) -> Any:
    """A JSON number, as the document says: pydantic's lax mode would read `true` as 1 and
    `"10"` as 10, so a mistake would pass as a number."""
    if isinstance(value, bool | str):
        raise ValueError("must be a number")
    return value


Count = Annotated[int, BeforeValidator(_a_number)]
Number = Annotated[float, BeforeValidator(_a_number)]


class ErrorBody(BaseModel):
    code: str = Field(description="machine-readable, e.g. invalid_input, not_found")
    message: str
    field: str | None = Field(description="the input field at fault, when there is one")


class ErrorOut(BaseModel):
    error: ErrorBody


class HitOut(BaseModel):
    id: str
    score: float


class Hits(BaseModel):
    items: list[HitOut]
    recommendation_id: str | None = Field(
        None, description="with user_id: the id the list was logged under, for its events"
    )


class SearchIn(BaseModel):
    """A free text, embedded by the store's model; or a vector of your own, searched in
    `space` (default `text`, of the model's dimension). One of the two, not both."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, min_length=1, description="free text to search for")
    vector: list[Number] | None = Field(
        None,
        min_length=1,
        description="a query vector of `space`'s dimension, instead of `text`",
    )
    space: str | None = Field(
        None,
        description="the space searched (default: text); a text searches `image` when the "
        "image model embeds texts too",
        max_length=32,
    )
    n: Count = Field(10, ge=1, le=MAX_N)
    where: dict[str, Any] | None = Field(None, description="metadata filter (see README)")
    exclude: list[str] = Field([], description="ids to leave out")
    min_score: Number | None = Field(
        None, allow_inf_nan=False, description="leave out hits scored below this"
    )
    user_id: AnId | None = Field(
        None, description="who sees the results: log them as a 'search' list, return its id"
    )


# The largest dimension a space may be declared with over HTTP: pgvector indexes vectors of
# up to 2,000 numbers, and both stores take the same spaces.
MAX_DIM = 2000


class SpaceIn(BaseModel):
    """A vector space to declare: its dimension and how its vectors are compared."""

    model_config = ConfigDict(extra="forbid")

    dim: Count = Field(ge=1, le=MAX_DIM, description="how many numbers each vector has")
    metric: Literal["cosine", "dot", "euclidean"] = Field(
        "cosine", description="cosine (vectors kept at unit length), dot or euclidean"
    )


class SpaceOut(BaseModel):
    name: str
    dim: int
    metric: str


class Spaces(BaseModel):
    spaces: list[SpaceOut] = Field(description="text (the model's) first, then the others")


class ItemWritten(BaseModel):
    id: str
    status: str = Field(description="created, updated or unchanged")


class IngestOut(BaseModel):
    new: int
    changed: int
    unchanged: int
    deleted: int
    embedded: int


class EventsAccepted(BaseModel):
    accepted: int
    duplicates: int = Field(description="events whose event_id was already recorded")
    skipped: int = Field(description="events on unknown items left out (unknown_items=skip)")
    created: int = Field(description="items created by events (unknown_items=create)")


class RecommendedOut(BaseModel):
    id: str
    score: float
    position: int = Field(description="1-based rank in the list")
    reason: str
    because: str | None


class RecommendationOut(BaseModel):
    recommendation_id: str = Field(description="send it back with events as recommendation_id")
    user_id: str | None = Field(description="null for a session's list (POST /v1/recommend)")
    strategy: str
    variant: str | None = Field(None, description="EXPERIMENT:VARIANT when an experiment chose")
    cached: bool = Field(description="served from the cache of hot results (a new id all the same)")
    items: list[RecommendedOut]


class CtrRow(BaseModel):
    group: str
    impressions: int
    clicks: int
    conversions: int
    mean_dwell: float | None
    ctr: float
    ctr_ci95: list[float]
    conversion_rate: float
    conversion_rate_ci95: list[float]


class CtrReport(BaseModel):
    group_by: str
    since: float
    rows: list[CtrRow]


class EventVolume(BaseModel):
    day: str = Field(description="UTC day, YYYY-MM-DD")
    type: str
    count: int


class Percentiles(BaseModel):
    count: int
    p50: float | None
    p90: float | None
    p99: float | None


class Latency(Percentiles):
    by_strategy: dict[str, Percentiles]


class Coverage(BaseModel):
    items_shown: int = Field(description="distinct items in at least one list")
    catalog: int
    share: float


class ActivityReport(BaseModel):
    since: float
    events: list[EventVolume]
    latency_ms: Latency = Field(description="milliseconds to make each tracked list")
    coverage: Coverage


class FastJSON(Response):
    """A JSON response rendered by orjson, for hot paths that build their body themselves
    (no re-validation against the response model; the model still documents the shape)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
