"""The service's logs: one line per request on the logger `likewise.access`, in JSON or as a
readable line; the request id (`X-Request-ID`) on every response and every line logged while
the request runs; and an error no handler took, logged once with its traceback.

The formats are `logging` formatters that `likewise serve` hands uvicorn (`log_config`), so each
worker process sets them up itself; uvicorn's own access log stays off (ours has the route
template, the strategy and the request id).
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi.responses import JSONResponse
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from likewise.service.middleware import route_template

__all__ = ["HumanFormatter", "JsonFormatter", "RequestLog", "log_config", "request_id"]

LogFormat = Literal["human", "json"]
LEVELS = ("debug", "info", "warning", "error", "critical")

access = logging.getLogger("likewise.access")
log = logging.getLogger(__name__)

# The id of the request being served; the formatters add it to every line logged meanwhile
# (the threads that run sync routes get a copy of the context, so they see it too).
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
SANE_ID = re.compile(rb"[\x21-\x7e]{1,128}")  # visible ASCII: safe in a header and a log line


_ids = random.Random()  # seeded from the OS; reseeded in a forked child (see below)
os.register_at_fork(after_in_child=_ids.seed)


def new_request_id() -> str:
    """A request id: 128 random bits as 32 hex digits, like `uuid4().hex`. Not for secrets:
    `uuid4` reads os.urandom, which releases the GIL on every call, and while the impression
    writer thread runs a request then waits for it to give the GIL back."""
    return f"{_ids.getrandbits(128):032x}"


def given_id(scope: Scope) -> str | None:
    """The request's own `X-Request-ID`, if it is at most 128 visible ASCII characters (one a
    proxy or client made); anything else is replaced, never echoed into headers or logs."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return value.decode("ascii") if SANE_ID.fullmatch(value) else None
    return None


class RequestLog:
    """The outermost middleware: gives the request its id, answers it in `X-Request-ID` on
    every response (errors and 404s too), logs the access line, and turns an exception no
    handler took into one log record with its traceback and a 500 JSON body. It does not
    re-raise it, so neither Starlette nor uvicorn logs it a second time.

    A route says what its request did in `request.state`: `strategy` (the list's) and `users`
    (how many users it was for); a route with `{user_id}` in its path is for one user.
    """

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes  # the router's live list: routes added later count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid = given_id(scope) or new_request_id()
        token = request_id.set(rid)
        header = (b"x-request-id", rid.encode("ascii"))
        status = 500
        started = False

        async def sending(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if not started:  # else the client sees the connection end
                error = {"code": "internal", "message": "internal error", "field": None}
                body = {"error": {**error, "request_id": rid}}
                await JSONResponse(body, status_code=500)(scope, receive, sending)
        finally:
            if access.isEnabledFor(logging.INFO):
                fields = self.fields(scope, rid, status, (time.perf_counter() - start) * 1000)
                line = ("%s %s %s %s ms", scope["method"], fields["route"], status, fields["ms"])
                access.info(*line, extra={"access": fields})
            request_id.reset(token)

    def fields(self, scope: Scope, rid: str, status: int, ms: float) -> dict[str, Any]:
        """The access line's fields, in the order the line shows them."""
        state: dict[str, Any] = scope.get("state") or {}
        fields: dict[str, Any] = {
            "request_id": rid,
            "method": scope["method"],
            "route": route_template(scope, self.routes),
            "status": status,
            "ms": round(ms, 2),
        }
        if state.get("strategy"):
            fields["strategy"] = state["strategy"]
        users = state.get("users", 1 if "user_id" in scope.get("path_params", {}) else None)
        if users is not None:
            fields["users"] = users
        client = scope.get("client")
        fields["client"] = client[0] if client else None
        return fields


def _ts(created: float) -> str:
    """UTC, to the millisecond: `2026-11-30T09:25:00.123Z`."""
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line. An access line has the request's fields; any other line has
    `message`, the id of the request it was logged in (if any) and its `traceback`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _ts(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,  # which worker, with `--workers N`
        }
        fields = getattr(record, "access", None)
        if fields is not None:
            line |= fields
        else:
            line["message"] = record.getMessage()
            rid = request_id.get()
            if rid is not None:
                line["request_id"] = rid
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class HumanFormatter(logging.Formatter):
    """One readable line: `time LEVEL logger message`, an access line as `GET /v1/... 200
    3.1 ms strategy=ema users=1 client=... request_id=...`; a traceback follows its line."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()  # an access line's: `GET /v1/... 200 3.1 ms`
        fields = getattr(record, "access", None)
        if fields is not None:
            message += "".join(f" {k}={v}" for k, v in fields.items() if k not in _SHOWN)
        else:
            rid = request_id.get()
            if rid is not None:
                message += f" request_id={rid}"
        line = f"{_ts(record.created)} {record.levelname} {record.name} {message}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


_SHOWN = ("method", "route", "status", "ms")


def log_config(format: LogFormat, level: str) -> dict[str, Any]:
    """The `logging.config.dictConfig` of a server: every logger (likewise's, uvicorn's) to
    stderr in `format` at `level`; uvicorn's access log off (`RequestLog` writes ours)."""
    formatter = "JsonFormatter" if format == "json" else "HumanFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"likewise": {"()": f"{__name__}.{formatter}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "likewise",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }
