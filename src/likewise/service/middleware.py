"""ASGI middleware: a request body size limit, Prometheus request metrics, and the `Allow`
header of a 405.

Plain ASGI (not BaseHTTPMiddleware) so that neither adds a task or a copy per request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from fastapi.routing import iter_route_contexts
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from likewise.service.errors import error_response

__all__ = ["AllowedMethods", "BodyLimit", "Metrics", "RequestMetrics"]


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


CacheCounts = Callable[[], Mapping[str, Mapping[str, int]]]


class CacheLookups(Collector):
    """The caches' own cumulative hit and miss counts, read at each scrape, as the counter
    `likewise_cache_lookups_total` (a gauge set to a count breaks `rate()`)."""

    def __init__(self, read: CacheCounts) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "likewise_cache_lookups",
            "Lookups in the caches of hot results since start, by cache and outcome",
            labels=["cache", "outcome"],
        )
        for name, counts in self.read().items():
            family.add_metric([name, "hit"], counts["hits"])
            family.add_metric([name, "miss"], counts["misses"])
        yield family


class Metrics:
    """The app's Prometheus metrics, in its own registry (one per app, so tests can count):
    counters end in `_total`, times are in seconds, and the process's own (`process_*`:
    CPU, memory, open files) are there too. `caches` reads the caches' counts at a scrape."""

    def __init__(self, caches: CacheCounts = dict) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # `*_created`: noise
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.registry.register(CacheLookups(caches))
        self.requests = Counter(
            "likewise_http_requests",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "likewise_http_request_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
            registry=self.registry,
        )
        self.recommendations = Counter(
            "likewise_recommendations",
            "Recommendation lists served, by strategy",
            ["strategy"],
            registry=self.registry,
        )
        self.cache_hits = Counter(
            "likewise_recommendation_cache_hits",
            "Recommendation lists served from the cache of hot results, by strategy",
            ["strategy"],
            registry=self.registry,
        )
        self.events = Counter("likewise_events", "Events recorded", registry=self.registry)
        self.duplicates = Counter(
            "likewise_event_duplicates",
            "Events resent with a known event_id",
            registry=self.registry,
        )


class RequestMetrics:
    """Counts each request and times it, labelled by route template (not the raw path). A
    route the router does not put in the scope (the document, the docs pages) is found by
    matching; only a path no route matches is `unmatched`."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes  # the router's live list: routes added later count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route: Any = scope.get("route")
            name = getattr(route, "path", None) or self.matching(scope) or "unmatched"
            self.metrics.requests.labels(name, scope["method"], str(status)).inc()
            self.metrics.latency.labels(name).observe(time.perf_counter() - start)

    def matching(self, scope: Scope) -> str | None:
        """The path template of the route that matches the request, if one does."""
        for route in iter_route_contexts(self.routes):
            if route.matches(scope)[0] is Match.FULL:
                return route.path
        return None


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
