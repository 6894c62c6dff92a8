"""One JSON error shape for every failure: {"error": {"code", "message", "field"}}."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from likewise import errors

__all__ = ["error_response", "install"]

log = logging.getLogger(__name__)

# Most specific first: Conflict is an InvalidInput, StoreUnavailable a StoreError. The code
# and body are the error's own (`LikewiseError.as_dict`).
# A full disk under the store is a StoreUnavailable too (`store.boundary.StoreFull`, code
# `store_full`): 503 with `Retry-After: 30`, not 507. Its write was rolled back whole, so the
# same request succeeds once space is freed, and 503 + Retry-After is what clients (ours
# included) and proxies already read as "not done, try again later"; the code names the cause.
STATUS: list[tuple[type[errors.LikewiseError], int]] = [
    (errors.Conflict, 409),
    (errors.InvalidInput, 422),
    (errors.NotFound, 404),
    (errors.ConfigError, 409),
    (errors.EmbedderError, 503),
    (errors.StoreUnavailable, 503),
    (errors.StoreError, 503),
]
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}
CODES |= {405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}


def error_response(
    status: int, code: str, message: str, field: str | None = None, **headers: str
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "field": field}}
    return JSONResponse(body, status_code=status, headers=headers or None)


def _likewise(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.LikewiseError)
    for kind, status in STATUS:
        if isinstance(exc, kind):
            headers = None
            if isinstance(exc, errors.StoreUnavailable):  # the same request may succeed shortly
                log.warning("store unavailable: %s", exc)
                headers = {"Retry-After": str(exc.retry_after)}
            return JSONResponse(exc.as_dict(), status_code=status, headers=headers)
    log.error("unexpected likewise error: %s", exc)
    return error_response(500, "internal", "internal error")


_UNION_MEMBER = re.compile(r"[\[\]]|^(str|int|float|bool|dict|list)$")


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first: dict[str, Any] = exc.errors()[0] if exc.errors() else {}
    # pydantic names the member of a union it tried (`dict[str,any]`): no field of the request
    loc = [
        p
        for p in first.get("loc", ())
        if p not in ("body", "query", "path") and not _UNION_MEMBER.search(str(p))
    ]
    message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    if first.get("type") == "json_invalid":
        return error_response(400, "bad_json", f"the body is not valid JSON: {message}", "body")
    whole = "body" if tuple(first.get("loc", ()))[:1] == ("body",) else None
    if whole and not loc and isinstance(first.get("input"), bytes):
        # FastAPI parses a body as JSON only under a JSON media type, else hands on its bytes:
        # the body may well be an object, and the media type is what to fix (`curl -d`).
        given = (request.headers.get("content-type") or "none")[:100]
        why = f"send the body as JSON, with Content-Type: application/json (given: {given})"
        return error_response(415, "unsupported_media_type", why, "body")
    return error_response(422, "invalid_input", message, _field(loc) or whole)


def _field(loc: list[Any]) -> str:
    """A place as the Engine's errors name it: `users[1]`, `where.price`, not `users.1`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out


def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = CODES.get(exc.status_code, "http_error")
    field = "body" if exc.status_code in (400, 413) else None  # the body: unparsed, too large
    return error_response(exc.status_code, code, str(exc.detail), field, **(exc.headers or {}))


def _gone(_: Request, exc: Exception) -> JSONResponse:
    """The client went away before its whole body arrived: nothing was done, and no one reads
    the answer; a 400 in the access log and the metrics, not an internal error."""
    message = "the client disconnected before it sent the whole body"
    return error_response(400, "bad_request", message, "body")


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal", "internal error")


def _too_deep(_: Request, exc: Exception) -> JSONResponse:
    """JSON nested past what the parser recurses through (a body FastAPI parsed)."""
    return error_response(400, "bad_json", "the body is nested too deep", "body")


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.LikewiseError, _likewise)
    app.add_exception_handler(RecursionError, _too_deep)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(ClientDisconnect, _gone)
    app.add_exception_handler(Exception, _unexpected)
