"""The "for you" route is served without FastAPI's dependency solver (`service/lean.py`), with
the same checks, in the same order, and the same answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi import routing as fastapi_routing
from fastapi.dependencies import utils as solver
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount
from tests.service.conftest import READ, auth

from likewise.service import lean
from likewise.service.auth import require_read
from likewise.service.deps import known_query
from likewise.service.lean import Lean
from likewise.service.routes import users

RECOMMEND = "/v1/users/u1/recommendations"


@pytest.fixture
def solved(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """The dependants FastAPI's solver is asked to solve, as requests go."""
    calls: list[object] = []
    real = solver.solve_dependencies

    async def counting(**kwargs: Any) -> Any:
        calls.append(kwargs["dependant"].call)
        return await real(**kwargs)

    monkeypatch.setattr(fastapi_routing, "solve_dependencies", counting)
    yield calls


def test_the_recommend_route_is_served_without_the_solver(
    secured: TestClient, solved: list[object]
) -> None:
    answer = secured.get(RECOMMEND, params={"n": 2}, headers=auth(READ))
    assert answer.status_code == 200, answer.text
    assert answer.json()["items"]
    assert solved == []
    assert secured.get("/v1/users/u1/profile", headers=auth(READ)).status_code == 200
    assert solved  # another route of the same router still goes through the solver


def test_its_checks_run_in_the_solvers_order(secured: TestClient, solved: list[object]) -> None:
    # known_query (the app's) before require_read (the router's): 422 before 401
    unknown = secured.get(RECOMMEND, params={"exlude": "x"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["field"] == "exlude"
    anonymous = secured.get(RECOMMEND)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    bad = secured.get(RECOMMEND, params={"n": 0}, headers=auth(READ))
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "n"
    assert solved == []


def test_dependency_overrides_send_it_back_to_the_solver(
    secured: TestClient, solved: list[object]
) -> None:
    app: Any = secured.app

    async def refuse(request: Request) -> None:
        raise HTTPException(403, "overridden")

    app.dependency_overrides[require_read] = refuse
    try:
        answer = secured.get(RECOMMEND, headers=auth(READ))
    finally:
        app.dependency_overrides.clear()
    assert answer.status_code == 403
    assert answer.json()["error"]["message"] == "overridden"
    assert solved


def test_the_route_keeps_its_checks_as_included(client: TestClient) -> None:
    route = next(r for r in users.reads.routes if getattr(r, "name", "") == "recommendations")
    assert isinstance(route, Lean)
    assert route.checks[client.app] == (known_query, require_read)  # by create_app


async def deny(request: Request) -> None:
    raise HTTPException(403, "denied")


def test_another_app_including_the_router_runs_its_own_checks(client: TestClient) -> None:
    """The route object is shared by every app that includes its router: the checks
    `create_app` installed for its app are not another app's."""
    other = FastAPI()
    other.include_router(users.reads, dependencies=[Depends(deny)])
    with TestClient(other) as again:
        assert again.get(RECOMMEND).status_code == 403
        assert again.get("/v1/users/u1/profile").status_code == 403


def test_a_mounted_apps_own_path_parameters_do_not_reach_the_endpoint() -> None:
    inner = app_of(plain, check)
    lean.install(inner)
    outer = Starlette(routes=[Mount("/{org}", app=inner)])
    with TestClient(outer) as client:
        answer = client.get("/acme/hello/ada")
        assert answer.status_code == 200, answer.text
        assert answer.text == "hello ada"


async def check(request: Request) -> None:
    if request.headers.get("x-refuse"):
        raise HTTPException(401, "refused")


async def plain(request: Request, name: str) -> Response:
    return PlainTextResponse(f"hello {name}")


async def with_query(request: Request, name: str, n: int = Query(1)) -> Response:
    return PlainTextResponse(f"{name} {n}")


def sync_check(request: Request) -> None:
    return None


async def typed(request: Request, name: int) -> Response:
    return PlainTextResponse(str(name))


def app_of(endpoint: Any, *dependencies: Any) -> FastAPI:
    router = APIRouter(dependencies=[Depends(d) for d in dependencies])
    router.add_api_route("/hello/{name}", endpoint, methods=["GET"], route_class_override=Lean)
    app = FastAPI()
    app.include_router(router)
    return app


def test_a_lean_route_runs_its_checks_then_its_endpoint() -> None:
    app = app_of(plain, check)
    lean.install(app)
    with TestClient(app) as client:
        assert client.get("/hello/ada").text == "hello ada"
        assert client.get("/hello/ada", headers={"x-refuse": "1"}).status_code == 401


def test_an_uninstalled_lean_route_is_solved_as_usual(solved: list[object]) -> None:
    app = app_of(plain, check)
    with TestClient(app) as client:
        assert client.get("/hello/ada", headers={"x-refuse": "1"}).status_code == 401
        assert client.get("/hello/ada").text == "hello ada"
    assert solved


@pytest.mark.parametrize(
    ("endpoint", "dependencies", "names"),
    [
        pytest.param(with_query, (check,), "takes more than the request", id="a-query-param"),
        pytest.param(typed, (check,), "takes more than the request", id="an-int-path-param"),
        pytest.param(plain, (sync_check,), "'sync_check' is not an", id="a-sync-dependency"),
    ],
)
def test_install_refuses_a_route_the_solver_must_serve(
    endpoint: Any, dependencies: tuple[Any, ...], names: str
) -> None:
    with pytest.raises(TypeError, match=names):
        lean.install(app_of(endpoint, *dependencies))
