"""ASGI middleware: a request body size limit, a target whose %-escapes are UTF-8, and the
`Allow` header of a 405; and the route template of a request, which the metrics and the access
log label it with.

Plain ASGI (not BaseHTTPMiddleware) so that neither adds a task or a copy per request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from likewise.service.errors import error_response

__all__ = ["AllowedMethods", "BodyLimit", "Utf8Target", "route_template"]


class TooLarge(HTTPException):
    """A body over the limit, found as it streams in. An HTTPException, so that a route that
    parses its body (FastAPI turns other errors there into a 400) answers 413 too."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large(limit))


def too_large(limit: int) -> str:
    return f"the request body is over the limit of {limit:,} bytes (LIKEWISE_MAX_BODY_BYTES)"


class BodyLimit:
    """413 for a body over `limit` bytes, by Content-Length or as it streams in."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._refuse(scope, receive, send)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise TooLarge(self.limit)
            return message

        try:
            await self.app(scope, counted, send)
        except TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        await error_response(413, "too_large", too_large(self.limit), "body")(scope, receive, send)


def route_template(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    """The path template of the request's route (`/v1/items/{item_id}`, never the raw path):
    the one the router put in the scope, else the one that matches (the document, the docs
    pages), else `unmatched`."""
    route: Any = scope.get("route")
    name = getattr(route, "path", None)
    if name:
        return str(name)
    for candidate in iter_route_contexts(routes):
        if candidate.matches(scope)[0] is Match.FULL:
            return str(candidate.path)
    return "unmatched"


class AllowedMethods:
    """A 405's `Allow` lists every method of the path. FastAPI makes one route per method, and
    Starlette answers with the methods of the first route whose path matched."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes  # the router's live list: routes added later count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                allow = ", ".join(self.allowed(scope)).encode("latin-1")
                message = {**message, "headers": [*headers, (b"allow", allow)]}
            await send(message)

        await self.app(scope, receive, sending)

    def allowed(self, scope: Scope) -> list[str]:
        """The methods of every route whose path matches the request's."""
        methods: set[str] = set()
        for route in iter_route_contexts(self.routes):  # included routers' routes too
            if route.methods and route.matches(scope)[0] is not Match.NONE:
                methods |= route.methods
        return sorted(methods)


HIGH_ESCAPE = re.compile(rb"%[89a-fA-F][0-9a-fA-F]")  # a byte past ASCII: part of UTF-8, or not


class Utf8Target:
    """400 naming `path` or `query` for a target whose %-escapes are not UTF-8 (`caf%E9`,
    Latin-1). The server decodes them with errors="replace": `caf%E9` and `caf%E8` would both
    be the id `caf\ufffd`, and a write to one would change the other's data."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for field, raw in (("path", scope.get("raw_path")), ("query", scope["query_string"])):
                if raw and HIGH_ESCAPE.search(raw) and not _utf8(raw):
                    message = f"the {field} is not UTF-8 once its %-escapes are decoded"
                    await error_response(400, "bad_request", message, field)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _utf8(raw: bytes) -> bool:
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
