"""`create_app(settings)`: the FastAPI application over one Engine."""

from __future__ import annotations

import ctypes
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from likewise import __version__
from likewise.config import Settings
from likewise.engine import Engine
from likewise.engine.tenants import Tenants
from likewise.service import docs, errors, lean, openapi
from likewise.service.auth import Keys
from likewise.service.deps import known_query
from likewise.service.logs import RequestLog
from likewise.service.metrics import Metrics, RequestMetrics
from likewise.service.middleware import AllowedMethods, BodyLimit, Utf8Target
from likewise.service.routes import (
    digests,
    events,
    experiments,
    feed,
    groups,
    items,
    lists,
    ops,
    reports,
    search,
    segments,
    spaces,
    tenants,
    users,
)
from likewise.service.tenancy import Tenancy

__all__ = ["create_app"]

log = logging.getLogger(__name__)

DESCRIPTION = """Related items, search and "for you" recommendations over your catalog.

Send `Authorization: Bearer KEY` when keys are configured: a read key may call the read
endpoints, a write key every endpoint. Errors have one shape:
`{"error": {"code": ..., "message": ..., "field": ...}}`.

Every operation under `/v1/` serves a tenant too: under `/v1/t/{tenant}/...`, or with the
header `X-Likewise-Tenant`, with that tenant's keys (or an admin key: a server write key)."""


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
LARGE = 1 << 20  # bytes from which a block gets a mapping of its own


def map_large_blocks() -> bool:
    """Have glibc give every block of `LARGE` bytes or more a mapping of its own, returned to
    the system when it is freed. By default glibc raises that threshold to the size of each
    large block freed (up to 32 MB); a server's 10 MB bodies and what is parsed from them then
    come from the heaps of the threads that read them, and the heaps keep them, so resident
    memory stays near the peak of the largest requests (issue 18: 1.8 GB after two
    searches; measured in tests/test_limits_memory.py). Fixing it stops the rise. False where the C
    library is not glibc (nothing to do)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, LARGE))


def _cache_counts(app: FastAPI) -> dict[str, dict[str, int]]:
    """The caches' hits and misses, for a scrape (none until the store is open)."""
    engine: Engine | None = getattr(app.state, "engine", None)
    return {} if engine is None else engine.stats()["cache"]


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """The HTTP API. Opens the store of `settings.store.data` at startup (or serves `engine`, which
    the caller then owns and closes)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        metrics: Metrics = app.state.metrics
        if engine is not None:
            app.state.engine = engine
            app.state.tenants = Tenants(engine, settings, resume=True)
            metrics.start()
            try:
                yield
            finally:
                metrics.close()
                app.state.tenants.close()
            return
        app.state.engine = Engine.open(settings.store.data, settings=settings)
        app.state.tenants = Tenants(app.state.engine, settings, resume=True)  # on first use
        metrics.start()
        worker = feed.follow(app.state.engine, settings)  # a thread, when a source is set
        # The loaded store is hundreds of thousands of long-lived objects; keeping them out
        # of the cyclic GC's scans removes its pauses from request latency.
        gc.freeze()
        gc.set_threshold(
            50_000, 20, 20
        )  # fewer young collections: requests make short-lived garbage
        map_large_blocks()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()  # its batch in hand finished, before the store closes
            metrics.close()  # its last copy of the caches' counts reads the engine
            app.state.tenants.close()
            app.state.engine.close()
            app.state.engine = engine  # None until the lifespan opens the store

    app = FastAPI(
        title="likewise",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=openapi.operation_id,
        docs_url=None,  # served from the package (docs.py), not a CDN
        redoc_url=None,
    )
    app.state.engine = engine  # None until the lifespan opens the store
    app.state.keys = Keys(
        settings.service.read_keys, settings.service.write_keys, settings.service.event_keys
    )
    app.state.metrics = Metrics(caches=lambda: _cache_counts(app), feed=lambda: feed.counts(app))
    app.state.train_every = settings.training.train_every  # a forget says when models drop
    app.state.limits = settings.limits  # the batch routes count their records against it
    errors.install(app)
    app.include_router(ops.open_routes)
    # Routes are matched in order: the hottest paths ("for you", similar items) come first.
    for router in (
        users.reads,
        items.router,
        lists.router,
        search.router,
        groups.router,
        spaces.router,
        events.router,
        users.writes,
        reports.router,
        experiments.reads,
        experiments.writes,
        digests.router,
        feed.router,
        ops.stats_router,
        tenants.router,
        *segments.routers,
    ):
        app.include_router(router, dependencies=[Depends(known_query)])  # the pages take any
    lean.install(app)  # the routes served without the dependency solver, their checks read
    rules = settings.profiles.signal_rules()
    openapi.install(app, rules.types, (rules.rating_min, rules.rating_max))
    docs.install(app)
    if settings.service.site:
        from likewise.service import site

        site.install(app, settings)
    app.add_middleware(RequestMetrics, metrics=app.state.metrics, routes=app.router.routes)
    app.add_middleware(BodyLimit, limit=settings.limits.max_body_bytes)
    app.add_middleware(AllowedMethods, routes=app.router.routes)
    app.add_middleware(Tenancy, state=app.state)  # `/v1/t/{tenant}/...` seen as `/v1/...`
    app.add_middleware(Utf8Target)  # before the path is read: `caf%E9` is no `caf\ufffd`
    if settings.service.cors_origins:  # outermost: a preflight is answered before the rest
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.service.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID", "X-Likewise-Tenant"],
            expose_headers=["Retry-After", "X-Request-ID"],
            max_age=600,
        )
    # Outermost: every response gets its request id, a preflight and a 413 included.
    app.add_middleware(RequestLog, routes=app.router.routes)
    return app
