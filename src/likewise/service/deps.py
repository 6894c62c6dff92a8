"""Shared request helpers: the engine of the app, a stopwatch, and the check that every
query parameter is one the operation takes."""

from __future__ import annotations

import time
from typing import Any

from fastapi import Request

from likewise.engine import Engine
from likewise.errors import InvalidInput

__all__ = ["engine_of", "known_query", "since_ms"]


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def since_ms(started: float) -> float:
    """Milliseconds since `started`, a `time.perf_counter()` reading."""
    return (time.perf_counter() - started) * 1000.0


def _takes(route: Any) -> frozenset[str]:
    """The query parameters `route` declares: its own and its dependencies', and those it
    documents by hand (`openapi_extra`, for the routes that parse their query in one step)."""
    names: set[str] = set()
    stack = [getattr(route, "dependant", None)]
    while stack:
        dependant = stack.pop()
        if dependant is None:
            continue
        names.update(field.alias for field in dependant.query_params)
        stack.extend(dependant.dependencies)
    extra = getattr(route, "openapi_extra", None) or {}
    names.update(p["name"] for p in extra.get("parameters", ()) if p.get("in") == "query")
    return frozenset(names)


async def known_query(request: Request) -> None:
    """Dependency: a query parameter the operation does not take is a 422 naming it, not a
    silent no-op (a misspelt `exlude=` would otherwise change nothing without a word)."""
    route = request.scope.get("route")
    if route is None or not request.scope.get("query_string"):
        return
    takes: frozenset[str] | None = getattr(route, "_likewise_takes", None)
    if takes is None:  # kept on the route: computed once per operation
        takes = _takes(route)
        route._likewise_takes = takes
    for name in request.query_params:
        if name not in takes:
            listed = ", ".join(sorted(takes)) or "none"
            raise InvalidInput(
                f"unknown query parameter; this operation takes: {listed}", field=name
            )
