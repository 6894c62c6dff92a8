"""/v1/digests: a newsletter made as a job (202), its state, and its rows as NDJSON."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, WithJsonSchema

from likewise.engine import MAX_N
from likewise.service.auth import require_write
from likewise.service.deps import check_batch, engine_of
from likewise.service.openapi import SUMMARIES
from likewise.service.openapi_types import ref
from likewise.service.schemas import AnId, Count
from likewise.tracking.experiments import NAME

__all__ = ["router"]

# A job reads every user's lists: a back office's write key, not a page's.
router = APIRouter(prefix="/v1/digests", tags=["digests"], dependencies=[Depends(require_write)])

# The document's summaries of these operations (`openapi.py` reads them).
SUMMARIES |= {
    "start_digest": "Start a digest (a newsletter's lists)",
    "digest_job": "A digest job's state",
    "digest_rows": "A digest job's rows (NDJSON)",
}


NULL = {"type": "null"}
Strategy = Literal["dislike", "ema", "mean", "momentum", "hybrid", "popular"]  # RECOMMENDERS


class DigestIn(BaseModel):
    """Which newsletter to make, for whom."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        json_schema_extra={"pattern": NAME.pattern},
        description="the digest's name, 1-40 lowercase letters, digits, '-' or '_'",
    )
    n: Count = Field(10, ge=1, le=MAX_N, description="items per user")
    users: list[AnId] | None = Field(
        None, description="user ids (default: every user with a profile)"
    )
    segment: str | None = Field(
        None,
        json_schema_extra={"pattern": NAME.pattern},
        description="the users of this segment, instead of `users`",
    )
    where: Annotated[dict[str, Any] | None, WithJsonSchema({"anyOf": [ref("Where"), NULL]})] = (
        Field(None, description='metadata filter, e.g. {"published_at": {"gte": "2026-11-23"}}')
    )
    exclude_sent: StrictBool = Field(True, description="leave out what earlier digests sent")
    strategy: Strategy | None = Field(None, description="how to recommend (default: the setting)")


class DigestJobOut(BaseModel):
    id: str
    name: str
    status: str = Field(description="running, done, failed or interrupted")
    progress: float | None = Field(description="users done / users, 0 to 1")
    users: int
    total: int | None
    lists: int
    items: int
    args: dict[str, Any]
    created_at: float
    finished_at: float | None
    error: str | None


EXAMPLES = {
    "weekly": {"value": {"name": "weekly", "n": 10}},
    "last week's, for two": {
        "value": {
            "name": "weekly",
            "n": 5,
            "users": ["u1", "u2"],
            "where": {"published_at": {"gte": "2026-11-23"}},
        }
    },
}


@router.post("", status_code=202, response_model=DigestJobOut)
def start_digest(
    request: Request, body: Annotated[DigestIn, Body(openapi_examples=EXAMPLES)]
) -> dict[str, Any]:
    """Start a digest: `n` items for every user (or `users`, or a `segment`'s), leaving out
    what earlier digests sent, each list logged as an impression of strategy `digest`.
    Nothing starts on bad input (422 naming the field; 404 for a segment there is none of).
    Poll the job, then download its rows."""
    if body.users is not None:
        check_batch(request, len(body.users))
    return engine_of(request).start_digest(
        body.name,
        body.n,
        users=body.users,
        segment=body.segment,
        where=body.where,
        exclude_sent=body.exclude_sent,
        strategy=body.strategy,
    )


@router.get("/{job_id}", response_model=DigestJobOut)
def digest_job(request: Request, job_id: str) -> dict[str, Any]:
    """A digest job's state: status, progress, and the users, lists and items so far. A
    job whose server stopped reads `interrupted`."""
    return engine_of(request).digest_job(job_id)


@router.get(
    "/{job_id}/rows",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {"schema": {"type": "string"}}}}},
)
def digest_rows(request: Request, job_id: str) -> StreamingResponse:
    """A finished job's lists, one JSON object a line (NDJSON): `digest`, `user_id`,
    `recommendation_id` (send it back with the clicks), `items`. 409 until it is done."""
    chunks = engine_of(request).digest_rows(job_id)
    return StreamingResponse(chunks, media_type="application/x-ndjson")
