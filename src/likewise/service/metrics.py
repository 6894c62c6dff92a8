"""The service's Prometheus metrics and the middleware that counts and times each request."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from likewise.service.middleware import route_template

__all__ = ["Metrics", "RequestMetrics"]


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
            name = route_template(scope, self.routes)
            self.metrics.requests.labels(name, scope["method"], str(status)).inc()
            self.metrics.latency.labels(name).observe(time.perf_counter() - start)
