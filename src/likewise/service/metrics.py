"""The service's Prometheus metrics, in one process or summed over `likewise serve --workers N`.

With several workers, `likewise serve` gives every worker the same fresh folder in
`PROMETHEUS_MULTIPROC_DIR` before any of them imports prometheus_client. Each worker's counters
and histograms are then kept in files there, and a scrape (answered by whichever worker the
kernel hands the connection) reads every worker's files and sums them. Two series are not the
sum: `process_*` (CPU, memory, open files) are those of the worker that answered, as
prometheus_client's multiprocess mode cannot add them up; and the caches' lookups are each
worker's own counts, copied into its files at every scrape it answers and every
`SYNC_SECONDS`, so another worker's share may be that much behind.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from likewise.errors import LikewiseError
from likewise.service.middleware import route_template

__all__ = ["MULTIPROCESS_DIR", "Metrics", "RequestMetrics"]

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus_client when it is imported
SYNC_SECONDS = 5.0  # how often a worker copies its caches' counts for the other workers' scrapes

log = logging.getLogger(__name__)

CacheCounts = Callable[[], Mapping[str, Mapping[str, int]]]
FeedCounts = Callable[[], Mapping[str, float] | None]  # the feed's queue, None before the store
CACHE_HELP = "Lookups in the caches of hot results since start, by cache and outcome"


class CacheLookups(Collector):
    """The caches' own cumulative hit and miss counts, read at each scrape, as the counter
    `likewise_cache_lookups_total` (a gauge set to a count breaks `rate()`)."""

    def __init__(self, read: CacheCounts) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "likewise_cache_lookups", CACHE_HELP, labels=["cache", "outcome"]
        )
        for name, counts in self.read().items():
            family.add_metric([name, "hit"], counts["hits"])
            family.add_metric([name, "miss"], counts["misses"])
        yield family


class FeedQueue(Collector):
    """The feed's queue, read from the store at each scrape: the same in every worker, so it
    is exposed once, never summed (`likewise_feed_pending`, `likewise_feed_lag_seconds`,
    `likewise_feed_done_total`, `likewise_feed_failed_total`)."""

    def __init__(self, read: FeedCounts) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        counts = self.read()
        if counts is None:
            return
        yield GaugeMetricFamily("likewise_feed_pending", "Feed changes waiting", counts["pending"])
        lag = "Seconds the oldest waiting feed change has waited (0: none waits)"
        yield GaugeMetricFamily("likewise_feed_lag_seconds", lag, counts["lag"])
        yield CounterMetricFamily("likewise_feed_done", "Feed changes applied", counts["done"])
        failed = "Feed records refused (a bad line, field or file)"
        yield CounterMetricFamily("likewise_feed_failed", failed, counts["failed"])


class SharedCacheLookups:
    """The caches' counts written to this worker's files, for the scrapes of every worker: the
    counts live in the worker's engine, so each copy adds what is new since the last one."""

    def __init__(self, read: CacheCounts, registry: CollectorRegistry) -> None:
        self.read = read
        self.counter = Counter(
            "likewise_cache_lookups", CACHE_HELP, ["cache", "outcome"], registry=registry
        )
        self.copied: dict[tuple[str, str], int] = {}
        self.lock = threading.Lock()  # a scrape and the timer may copy at once
        self.stopped = threading.Event()

    def sync(self) -> None:
        with self.lock:
            for name, counts in self.read().items():
                for outcome, key in (("hit", "hits"), ("miss", "misses")):
                    new = counts[key] - self.copied.get((name, outcome), 0)
                    if new > 0:
                        self.counter.labels(name, outcome).inc(new)
                        self.copied[(name, outcome)] = counts[key]

    def start(self) -> None:
        threading.Thread(target=self._every, name="likewise-cache-metrics", daemon=True).start()

    def _every(self) -> None:
        while not self.stopped.wait(SYNC_SECONDS):
            try:
                self.sync()
            except LikewiseError as exc:  # the store is down (logged by the requests too)
                log.debug("the caches' counts wait for the store: %s", exc)
            except Exception:  # the next copy may succeed: the counts are cumulative
                log.exception("the caches' counts were not copied for the metrics")


class Metrics:
    """The app's Prometheus metrics, in its own registry (one per app, so tests can count):
    counters end in `_total`, times are in seconds, and the process's own (`process_*`:
    CPU, memory, open files) are there too. `caches` reads the caches' counts at a scrape,
    `feed` the feed's queue.
    When `PROMETHEUS_MULTIPROC_DIR` is set (`serve --workers N`), `scrape()` answers with the
    sum over every process writing there (the module's docstring says what is not summed)."""

    def __init__(self, caches: CacheCounts = dict, feed: FeedCounts = lambda: None) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # `*_created`: noise
        self.registry = CollectorRegistry()  # where the metrics are declared (names checked)
        self.shared: SharedCacheLookups | None = None
        if os.environ.get(MULTIPROCESS_DIR):
            from prometheus_client import multiprocess

            self.exposed = CollectorRegistry()  # what a scrape reads: every worker's files
            multiprocess.MultiProcessCollector(self.exposed)  # type: ignore[no-untyped-call]
            ProcessCollector(registry=self.exposed)
            self.shared = SharedCacheLookups(caches, self.registry)
        else:
            self.exposed = self.registry
            ProcessCollector(registry=self.registry)
            self.registry.register(CacheLookups(caches))
        self.exposed.register(FeedQueue(feed))
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

    def start(self) -> None:
        """Begin copying the caches' counts for the other workers (once the store is open)."""
        if self.shared is not None:
            self.shared.start()

    def scrape(self) -> bytes:
        """The Prometheus text of a scrape."""
        if self.shared is not None:
            self.shared.sync()
        return generate_latest(self.exposed)

    def close(self) -> None:
        """Stop the copying, and have prometheus_client drop this process's live gauges."""
        if self.shared is not None:
            self.shared.stopped.set()
            self.shared.sync()  # the last counts, kept in the files for the scrapes after
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


# The methods a request is counted under by name; any other (a client may send any token:
# `FOO`, or a new one per request) is counted as `other`, so no request adds a series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})


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
            name: Any = route_template(scope, self.routes)
            method = scope["method"] if scope["method"] in METHODS else "other"
            self.metrics.requests.labels(name, method, str(status)).inc()
            self.metrics.latency.labels(name).observe(time.perf_counter() - start)
