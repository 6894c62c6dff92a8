"""Health, readiness, Prometheus metrics and store statistics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from likewise.service.auth import require_read
from likewise.service.deps import engine_of
from likewise.service.errors import error_response

__all__ = ["open_routes", "stats_router"]

open_routes = APIRouter(tags=["ops"])
stats_router = APIRouter(prefix="/v1", tags=["ops"], dependencies=[Depends(require_read)])


@open_routes.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@open_routes.get("/readyz", response_model=None)
async def readyz(request: Request) -> dict[str, Any] | Response:
    """The store is open and answers."""
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        return error_response(503, "not_ready", "the store is not open yet")
    return {"status": "ready", "items": engine.count()}


@open_routes.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text: requests, latency histograms, recommendations by strategy, events,
    cache lookups, and the process's CPU and memory; with several workers, the sum over
    them (the process metrics are the answering worker's)."""
    return Response(request.app.state.metrics.scrape(), media_type=CONTENT_TYPE_LATEST)


@stats_router.get("/stats")
async def stats(request: Request) -> dict[str, Any]:
    """Counts, model and sizes of the store."""
    return engine_of(request).stats()
