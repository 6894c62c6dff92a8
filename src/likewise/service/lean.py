"""A route served without FastAPI's dependency solver, for the hottest operation.

FastAPI solves a route's dependencies on every request: for the "for you" list, whose
dependencies are two checks of the request (`known_query`, `require_read`) and whose endpoint
takes the request and one path parameter, that machinery is a fifth of the HTTP request's own
cost (issue 23). A `Lean` route runs the same checks in the same order, then its endpoint,
and nothing else. What it runs is read from the route as the app includes it (its router's
dependencies and the app's included, through FastAPI's public `iter_route_contexts`) by
`install`, which refuses a route whose dependencies or parameters would need the solver. Until
then, and whenever the app has `dependency_overrides`, FastAPI's own handler serves it.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.responses import Response

__all__ = ["Lean", "install"]

Check = Callable[[Request], Awaitable[None]]


class Lean(APIRoute):
    """An operation whose dependencies are `async def check(request) -> None` and whose
    endpoint is `async def endpoint(request, **path_params) -> Response`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The checks by app, set by `install`: a router's route object is shared by every app
        # that includes it, each with its own dependencies.
        self.checks: WeakKeyDictionary[Any, tuple[Check, ...]] = WeakKeyDictionary()
        super().__init__(*args, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        solved = super().get_route_handler()  # FastAPI's: the dependencies solved
        endpoint = self.endpoint
        names = [field.name for field in self.dependant.path_params]  # not a Mount's

        async def handle(request: Request) -> Response:
            app = request.app
            checks = self.checks.get(app)
            if checks is None or app.dependency_overrides:
                return await solved(request)
            for check in checks:
                await check(request)
            given = request.path_params
            response: Response = await endpoint(request, **{n: given[n] for n in names})
            return response

        return handle


def install(app: FastAPI) -> None:
    """Give every `Lean` route of `app` the checks it runs: its dependencies as included,
    outermost first (the order FastAPI solves them in). TypeError for one that the solver
    would have to serve (a parameter other than the request, a path parameter that is not
    a plain `str`, a dependency of its own), or one included twice with different checks."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, Lean):
            continue
        dependant: Dependant = context.dependant
        checks = tuple(_check(route, sub) for sub in dependant.dependencies)
        _endpoint_plain(route, dependant)
        if route.checks.get(app, checks) != checks:
            raise TypeError(f"{route.name}: included twice with different dependencies")
        route.checks[app] = checks


def _check(route: Lean, sub: Dependant) -> Check:
    call = sub.call
    takes_request_only = sub.request_param_name is not None and not _params(sub)
    if call is None or not inspect.iscoroutinefunction(call) or not takes_request_only:
        raise TypeError(
            f"{route.name}: the dependency {getattr(call, '__name__', call)!r} is not an "
            "`async def check(request)`: serve the route with FastAPI's APIRoute"
        )
    check: Check = call
    return check


def _endpoint_plain(route: Lean, dependant: Dependant) -> None:
    plain = (
        inspect.iscoroutinefunction(route.endpoint)
        and dependant.request_param_name == "request"
        and not _params(dependant, path=False, dependencies=False)
        and all(field.field_info.annotation is str for field in dependant.path_params)
        and all(not field.field_info.metadata for field in dependant.path_params)
    )
    if not plain:
        raise TypeError(
            f"{route.name}: the endpoint takes more than the request and plain `str` path "
            "parameters: serve it with FastAPI's APIRoute"
        )


def _params(
    dependant: Dependant, *, path: bool = True, dependencies: bool = True
) -> Sequence[object]:
    """What the solver would have to read or provide for `dependant`, besides the request."""
    return [
        *(dependant.path_params if path else ()),
        *dependant.query_params,
        *dependant.header_params,
        *dependant.cookie_params,
        *dependant.body_params,
        *(dependant.dependencies if dependencies else ()),
        *(
            name
            for name in (
                dependant.websocket_param_name,
                dependant.http_connection_param_name,
                dependant.response_param_name,
                dependant.background_tasks_param_name,
                dependant.security_scopes_param_name,
            )
            if name is not None
        ),
    ]
