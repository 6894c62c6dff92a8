"""/v1/items: write, read, delete items; related items."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from likewise.engine import MAX_N
from likewise.engine.pages import MAX_PAGE
from likewise.errors import InvalidInput, NotFound
from likewise.items.loaders import json_object
from likewise.items.model import MAX_DEPTH
from likewise.recommend.spaces import parse_spaces
from likewise.service.auth import require_read, require_write
from likewise.service.deps import check_batch, engine_of, since_ms
from likewise.service.schemas import FastJSON, Hits, IngestOut, ItemWritten

__all__ = ["router"]

router = APIRouter(prefix="/v1/items", tags=["items"], dependencies=[Depends(require_read)])

WHERE = Query(description='metadata filter as JSON, e.g. {"category": "news"}')
SPACES = (
    "several vector spaces blended by weight, e.g. `text:0.6,image:0.4`: each candidate's "
    "cosines summed (0 in a space it has no vector in); not with `source` or `space`"
)
BATCH_BODY = {
    "required": True,
    "description": "A JSON array of items with different ids, or NDJSON: one item (a JSON "
    "object) per line. The "
    "NDJSON body's schema describes its lines as an array, one element per line.",
    "content": {
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    },
}


@router.post(
    ":batch",
    response_model=IngestOut,
    openapi_extra={"requestBody": BATCH_BODY},
    dependencies=[Depends(require_write)],
)
async def write_batch(request: Request) -> dict[str, int]:
    """Upsert many items: a JSON array, or NDJSON (`Content-Type: application/x-ndjson`).

    All records are validated first; one bad record (named by position and field) stores
    nothing.
    """
    records = _records(request, await request.body())
    report = await run_in_threadpool(engine_of(request).add_items, records)
    return report.as_dict()


def _records(request: Request, body: bytes) -> list[Any]:
    """The records of a batch body, decoded as sent: bytes that are not UTF-8 are refused
    (never stored as U+FFFD), and an NDJSON line ends at a newline only, not at a U+2028 that
    a JSON string may hold."""
    if request.headers.get("content-type", "").startswith("application/x-ndjson"):
        records: list[Any] = []
        for line, row in enumerate(body.splitlines(), start=1):  # bytes: at \n and \r only
            if row.strip():
                check_batch(request, len(records) + 1)  # before parsing the rest
                try:
                    records.append(json.loads(row))
                except (ValueError, RecursionError) as exc:  # the item the line would be
                    raise _not_json(exc, f"items[{len(records)}]", line) from None
        return records
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise _not_json(exc, "body") from None
    if not isinstance(value, list):
        raise InvalidInput("must be a JSON array of items (or NDJSON)", field="body")
    check_batch(request, len(value))
    return value


def _not_json(exc: Exception, field: str, line: int | None = None) -> InvalidInput:
    """Why text is not JSON likewise reads: not JSON, not UTF-8, nested past the parser's
    stack, or an integer of more digits than int() reads (a ValueError that is no
    JSONDecodeError)."""
    if isinstance(exc, json.JSONDecodeError):
        reason = f"not valid JSON: {exc.msg}"
    elif isinstance(exc, UnicodeDecodeError):
        reason = f"not UTF-8: byte 0x{exc.object[exc.start]:02x} at offset {exc.start}"
    elif isinstance(exc, RecursionError):
        reason = f"nested more than {MAX_DEPTH} deep"
    else:
        reason = "not valid JSON: a number with too many digits"
    return InvalidInput(reason, field=field, line=line)


@router.get("")
def list_items(  # a selective `where` may read many chunks: off the event loop
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: Annotated[
        str | None,
        Query(
            description="the next_cursor of the page before (opaque)",
            pattern=r"^[^\x00-\x1f]*$",
            max_length=1024,
        ),
    ] = None,
    where: Annotated[str | None, WHERE] = None,
) -> dict[str, Any]:
    """The catalog in pages, in id order, passing `where`: each item as stored, and the
    `next_cursor` that reads the next page (null once the catalog is read to its end)."""
    page = engine_of(request).list_items(
        cursor=cursor, limit=limit, where=json_object(where, "where")
    )
    return page.as_dict()  # not orjson: metadata may hold integers beyond 64 bits


@router.put(
    "/{item_id}",
    response_model=ItemWritten,
    dependencies=[Depends(require_write)],
    responses={201: {"model": ItemWritten, "description": "created"}},
)
def put_item(
    request: Request, response: Response, item_id: str, item: Annotated[dict[str, Any], Body()]
) -> dict[str, str]:
    """Create or replace one item; its text is embedded again only if it changed."""
    if item.get("id", item_id) != item_id:
        raise InvalidInput("does not match the id in the path", field="id")
    try:
        report = engine_of(request).add_items([{**item, "id": item_id}])
    except InvalidInput as exc:  # one item: name its field, not `items[0].field`
        field = (exc.field or "").removeprefix("items[0]").lstrip(".") or None
        raise type(exc)(exc.reason, field=field) from None  # a Conflict stays one
    status = "created" if report.new else "updated" if report.changed else "unchanged"
    response.status_code = 201 if report.new else 200
    return {"id": item_id, "status": status}


@router.get("/{item_id}")
async def get_item(request: Request, item_id: str) -> dict[str, Any]:
    """One item as stored: content fields and metadata at the top level."""
    return engine_of(request).get(item_id).to_record()


@router.delete("/{item_id}", status_code=204, dependencies=[Depends(require_write)])
def delete_item(request: Request, item_id: str) -> Response:
    """Delete one item (its events stay in the log)."""
    if not engine_of(request).delete([item_id]):
        raise NotFound("item", item_id)
    return Response(status_code=204)


@router.get("/{item_id}/similar", response_model=Hits)
async def similar(
    request: Request,
    item_id: str,
    n: Annotated[int, Query(ge=1, le=MAX_N)] = 10,
    where: Annotated[str | None, WHERE] = None,
    exclude: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    user_id: Annotated[
        str | None,
        Query(description="who sees the list: log it (strategy 'related'), return its id"),
    ] = None,
    source: Annotated[
        Literal["related", "content", "behaviour", "collaborative"] | None,
        Query(
            description="related (the default): content and behaviour neighbours blended "
            "(content alone before `train`); content or behaviour: one space's neighbours; "
            "collaborative: the trained item-kNN model's"
        ),
    ] = None,
    space: Annotated[
        str | None,
        Query(
            max_length=64,
            description="the neighbours in this vector space instead of a source (`image`, "
            "or one of your own, see /v1/spaces)",
        ),
    ] = None,
    min_score: Annotated[
        float | None,
        Query(allow_inf_nan=False, description="leave out items scored below this"),
    ] = None,
    spaces: Annotated[str | None, Query(max_length=1024, description=SPACES)] = None,
) -> FastJSON:
    """The `n` items closest to this one, passing `where`, never itself; with `user_id`, the
    list is logged as shown (strategy "related") and carries a `recommendation_id` to send
    back with the clicks it gets."""
    engine = engine_of(request)
    started = time.perf_counter()
    hits = engine.similar(
        item_id,
        n=n,
        where=json_object(where, "where"),
        exclude=exclude,
        space=space,
        source=source,
        min_score=min_score,
        spaces=parse_spaces(spaces),
    )
    found: dict[str, Any] = {"items": [h.as_dict() for h in hits], "recommendation_id": None}
    if user_id is not None:
        found["recommendation_id"] = engine.track(
            user_id, "related", [h.id for h in hits], ms=since_ms(started)
        )
    return FastJSON(found)
