"""Shared request helpers: the engine of the app, a stopwatch, the check that every query
parameter is one the operation takes, and the count of a batch."""

from __future__ import annotations

import time
import typing
from typing import Any, NamedTuple

from fastapi import Request

from likewise.engine import Engine
from likewise.engine.tenants import Tenants
from likewise.errors import InvalidInput
from likewise.service.tenancy import tenant_of

__all__ = ["check_batch", "engine_of", "known_query", "since_ms"]


def engine_of(request: Request) -> Engine:
    """The engine of the request's tenant (`tenancy.py`): the app's own for the default
    tenant, else the tenant's, opened on first use."""
    tenant = tenant_of(request.scope)
    if tenant is None:
        engine: Engine = request.app.state.engine
        return engine
    tenants: Tenants = request.app.state.tenants
    return tenants.engine(tenant)


def check_batch(request: Request, count: int) -> None:
    """A batch request holds at most the `max_batch` setting's records: InvalidInput naming
    `body` past it (the Engine's own calls take any number, in durable batches)."""
    limit: int = request.app.state.limits.max_batch
    if count > limit:
        raise InvalidInput(
            f"holds more than the limit of {limit:,} records a request may send "
            "(LIKEWISE_MAX_BATCH); send them in several requests",
            field="body",
        )


def since_ms(started: float) -> float:
    """Milliseconds since `started`, a `time.perf_counter()` reading."""
    return (time.perf_counter() - started) * 1000.0


class Takes(NamedTuple):
    """The query parameters of an operation, and those of them that take a list (repeated)."""

    names: frozenset[str]
    lists: frozenset[str]


def _takes(route: Any) -> Takes:
    """The query parameters `route` declares: its own and its dependencies', and those it
    documents by hand (`openapi_extra`, for the routes that parse their query in one step)."""
    names: set[str] = set()
    lists: set[str] = set()
    stack = [getattr(route, "dependant", None)]
    while stack:
        dependant = stack.pop()
        if dependant is None:
            continue
        for field in dependant.query_params:
            names.add(field.alias)
            annotation = field.field_info.annotation
            if list in (typing.get_origin(annotation), annotation):
                lists.add(field.alias)
        stack.extend(dependant.dependencies)
    extra = getattr(route, "openapi_extra", None) or {}
    for param in extra.get("parameters", ()):
        if param.get("in") == "query":
            names.add(param["name"])
            if param.get("schema", {}).get("type") == "array":
                lists.add(param["name"])
    return Takes(frozenset(names), frozenset(lists))


async def known_query(request: Request) -> None:
    """Dependency: a query parameter the operation does not take is a 422 naming it, not a
    silent no-op (a misspelt `exlude=` would otherwise change nothing without a word); so is
    one given twice that takes one value (the last would win without a word)."""
    route = request.scope.get("route")
    if route is None or not request.scope.get("query_string"):
        return
    takes: Takes | None = getattr(route, "_likewise_takes", None)
    if takes is None:  # kept on the route: computed once per operation
        takes = _takes(route)
        route._likewise_takes = takes
    params = request.query_params
    for name in params:
        if name not in takes.names:
            listed = ", ".join(sorted(takes.names)) or "none"
            why = f"unknown query parameter; this operation takes: {listed}"
            if not name:  # `?=x`: no name to give, so the field is the query string itself
                raise InvalidInput(f"a parameter with no name; {why[8:]}", field="query")
            raise InvalidInput(why, field=name)
        if name not in takes.lists and len(params.getlist(name)) > 1:
            raise InvalidInput("given more than once; it takes one value", field=name)
