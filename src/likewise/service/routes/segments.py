"""Users' properties (`/v1/users/{id}/properties`) and segments (`/v1/segments`): named
`where` filters over the properties, which context rules and experiments can target."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from likewise.service.auth import require_private, require_read, require_write
from likewise.service.deps import engine_of
from likewise.service.openapi import SUMMARIES
from likewise.service.openapi_types import REF
from likewise.tracking.experiments import NAME

__all__ = ["PROPERTIES", "routers"]

users = APIRouter(prefix="/v1/users", tags=["users"], dependencies=[Depends(require_read)])
segments = APIRouter(prefix="/v1/segments", tags=["segments"], dependencies=[Depends(require_read)])

# What `engine.segments.check_properties` accepts, and no more (a live probe sends what the
# document forbids and expects a 422): the one bound no schema states is the size of the
# whole object, the `max_metadata_bytes` setting, as for an item's metadata.
PROPERTIES = {
    "type": "object",
    "description": "A user's properties: a flat object of strings, numbers and booleans "
    "(null removes a key when merged). Keys are not empty and do not start with `$`; the "
    "object is at most `max_metadata_bytes` (64 KiB by default) as JSON.",
    "propertyNames": {"minLength": 1, "pattern": "^[^$]"},
    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
}
EXAMPLE = {"country": "DE", "plan": "premium", "age_band": "30-39", "newsletter": True}
PROPERTIES_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": PROPERTIES, "examples": {"plan": {"value": EXAMPLE}}}
        },
    }
}
SUMMARIES |= {  # the document's summaries, by route function name (`openapi.py` reads them)
    "get_properties": "A user's properties",
    "put_properties": "Set a user's properties",
    "get_user_segments": "The segments a user is in",
    "list_segments": "List segments",
    "put_segment": "Create or replace a segment",
    "delete_segment": "Delete a segment",
}
SEGMENT_EXAMPLES = {
    "requestBody": {
        "content": {
            "application/json": {
                "examples": {
                    "premium": {"value": {"where": {"plan": "premium"}}},
                    "dach": {"value": {"where": {"country": {"in": ["DE", "AT", "CH"]}}}},
                }
            }
        }
    }
}
SegmentName = Annotated[
    str,
    Path(
        json_schema_extra={"pattern": NAME.pattern},
        description="1-40 lowercase letters, digits, '-' or '_'",
    ),
]


def _a_where(schema: dict[str, Any]) -> None:
    """The field's schema is the document's `Where` (the filter grammar, typed once; in
    `allOf`, as pydantic resolves a bare `$ref` among its own models)."""
    schema.clear()
    schema["allOf"] = [{"$ref": REF + "Where"}]


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    where: dict[str, Any] = Field(
        description="the filter over users' properties (the grammar of item filters)",
        json_schema_extra=_a_where,
    )


@users.get("/{user_id}/properties", dependencies=[Depends(require_private)])
def get_properties(request: Request, user_id: str) -> dict[str, Any]:
    """A user's properties (`{}` if none were set)."""
    return {"user_id": user_id, "properties": engine_of(request).user_properties(user_id)}


@users.put(
    "/{user_id}/properties", dependencies=[Depends(require_write)], openapi_extra=PROPERTIES_BODY
)
def put_properties(
    request: Request,
    user_id: str,
    body: Annotated[dict[str, Any], Body()],
    replace: bool = False,
) -> dict[str, Any]:
    """Set a user's properties: merged into the stored ones (null removes a key), or with
    `replace=true` instead of them. Answers the properties now stored."""
    found = engine_of(request).set_user_properties(user_id, body, replace=replace)
    return {"user_id": user_id, "properties": found}


@users.get("/{user_id}/segments", dependencies=[Depends(require_private)])
def get_user_segments(request: Request, user_id: str) -> dict[str, Any]:
    """The segments the user is in now, by name (from their current properties)."""
    return {"user_id": user_id, "segments": engine_of(request).user_segments(user_id)}


@segments.get("")
def list_segments(request: Request) -> dict[str, Any]:
    """Every segment with its filter, by name."""
    return {"segments": engine_of(request).list_segments()}


@segments.put(
    "/{name}",
    dependencies=[Depends(require_write)],
    responses={201: {"description": "created"}},
    openapi_extra=SEGMENT_EXAMPLES,
)
def put_segment(
    request: Request, response: Response, name: SegmentName, body: SegmentIn
) -> dict[str, Any]:
    """Create (201) or replace (200) a segment: the users whose properties pass `where`.
    Membership is evaluated over the properties as they are when asked."""
    made = engine_of(request).create_segment(name, body.where)
    response.status_code = 201 if made["created"] else 200
    return made


@segments.delete("/{name}", status_code=204, dependencies=[Depends(require_write)])
def delete_segment(request: Request, name: SegmentName) -> None:
    """Delete a segment (404 if there is none); rules and experiments naming it then match
    no user."""
    engine_of(request).delete_segment(name)


routers = (users, segments)
