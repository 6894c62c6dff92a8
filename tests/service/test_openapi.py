"""The OpenAPI document: stable ids, roles, typed JSON, examples the server accepts, and the
errors each operation documents; the `Allow` header of a 405."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import jsonschema_rs
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from tests.service.conftest import WRITE, auth

from likewise import Engine, Settings
from likewise.service import create_app
from likewise.service.auth import require_read, require_write
from likewise.service.docs import FILES
from likewise.service.openapi import SUMMARIES, install, operation_id
from likewise.service.openapi_types import SOURCES

IDS = {
    ("get", "/v1/users/{user_id}/recommendations"): "recommendForUser",
    ("get", "/v1/users/{user_id}/profile"): "userProfile",
    ("post", "/v1/users/{user_id}/onboarding"): "onboardUser",
    ("delete", "/v1/users/{user_id}"): "forgetUser",
    ("get", "/v1/items/{item_id}/similar"): "similarItems",
    ("post", "/v1/search"): "searchItems",
    ("get", "/v1/spaces"): "listSpaces",
    ("put", "/v1/spaces/{space}"): "putSpace",
    ("put", "/v1/items/{item_id}"): "putItem",
    ("get", "/v1/items/{item_id}"): "getItem",
    ("delete", "/v1/items/{item_id}"): "deleteItem",
    ("post", "/v1/items:batch"): "writeItems",
    ("post", "/v1/events"): "recordEvents",
    ("get", "/v1/reports/ctr"): "ctrReport",
    ("get", "/v1/reports/activity"): "activityReport",
    ("get", "/v1/reports/retention"): "retentionReport",
    ("get", "/v1/reports/engagement"): "engagementReport",
    ("get", "/v1/experiments"): "listExperiments",
    ("post", "/v1/experiments"): "createExperiment",
    ("get", "/v1/experiments/{name}"): "experimentReport",
    ("post", "/v1/experiments/{name}/stop"): "stopExperiment",
    ("get", "/v1/stats"): "storeStats",
    ("get", "/v1/items"): "listItems",
    ("get", "/v1/users/{user_id}/events"): "listUserEvents",
    ("delete", "/v1/users/{user_id}/events"): "deleteUserEvents",
    ("get", "/v1/popular"): "popularItems",
    ("get", "/v1/latest"): "latestItems",
    ("post", "/v1/recommend"): "recommendFromItems",
    ("post", "/v1/groups/recommendations"): "recommendGroup",
    ("post", "/v1/impressions"): "trackList",
    ("post", "/v1/feed"): "pushFeed",
    ("get", "/v1/feed"): "feedStatus",
    ("get", "/healthz"): "health",
    ("get", "/readyz"): "readiness",
    ("get", "/metrics"): "metrics",
    ("post", "/v1/tenants"): "createTenant",
    ("get", "/v1/tenants"): "listTenants",
    ("delete", "/v1/tenants/{name}"): "deleteTenant",
    ("post", "/v1/digests"): "startDigest",
    ("get", "/v1/digests/{job_id}"): "digestJob",
    ("get", "/v1/digests/{job_id}/rows"): "digestRows",
    ("get", "/v1/users/{user_id}/properties"): "getProperties",
    ("put", "/v1/users/{user_id}/properties"): "putProperties",
    ("get", "/v1/users/{user_id}/segments"): "getUserSegments",
    ("get", "/v1/segments"): "listSegments",
    ("put", "/v1/segments/{name}"): "putSegment",
    ("delete", "/v1/segments/{name}"): "deleteSegment",
}
WRITES = {"onboardUser", "forgetUser", "putItem", "deleteItem", "writeItems", "deleteUserEvents"}
WRITES |= {"createExperiment", "stopExperiment", "putSpace", "pushFeed"}
WRITES |= {"createTenant", "listTenants", "deleteTenant"}  # the admin keys: server write keys
WRITES |= {"startDigest", "digestJob", "digestRows"}  # every user's lists: a back office's
WRITES |= {"putProperties", "putSegment", "deleteSegment"}
EVENTS = {"recordEvents", "trackList"}  # what a page's key may do besides reading
PRIVATE = {"userProfile", "listUserEvents"}  # a user's history: not for a page's key
PRIVATE |= {"getProperties", "getUserSegments"}  # nor their properties
OPEN = {"health", "readiness", "metrics"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(Settings()).openapi()


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for ops in document["paths"].values() for op in ops.values()}


def schema_of(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A validator of `schema`, whose `$ref`s point into the document's components; formats
    (dates) are checked, as a client generator's types and schemathesis's data honour them."""
    return jsonschema_rs.Draft202012Validator(
        {**schema, "components": document["components"]}, validate_formats=True
    )


def test_every_operation_has_its_stable_camel_case_id(document: dict[str, Any]) -> None:
    found = {
        (m, p): op["operationId"] for p, ops in document["paths"].items() for m, op in ops.items()
    }
    assert found == IDS
    assert len(set(found.values())) == len(found)
    assert all(re.fullmatch(r"[a-z]+([A-Z][a-z]*)*", i) for i in found.values())


def test_a_route_not_in_the_table_gets_its_function_name_in_camel_case() -> None:
    app = FastAPI(generate_unique_id_function=operation_id)
    router = APIRouter(prefix="/v1", dependencies=[Depends(require_read)])

    @router.post("/things/{thing_id}/archive", dependencies=[Depends(require_write)])
    def archive_old_things(thing_id: str) -> None: ...

    app.include_router(router)
    install(app, ["click"])
    op = app.openapi()["paths"]["/v1/things/{thing_id}/archive"]["post"]
    assert op["operationId"] == "archiveOldThings"
    assert op["x-likewise-role"] == "write"  # the route's own dependency beats its router's


def test_secured_operations_name_the_bearer_scheme_and_their_role(
    document: dict[str, Any],
) -> None:
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for name, op in operations(document).items():
        if name in OPEN:
            assert "security" not in op and "x-likewise-role" not in op, name
            continue
        role = "write" if name in WRITES else "events" if name in EVENTS else "read"
        role = "private" if name in PRIVATE else role
        assert op["security"] == [{"bearer": []}], name
        assert op["x-likewise-role"] == role, name
        needs = {"read": "any role", "events": "an events", "write": "a write"}
        needs["private"] = "not for an events key"
        assert needs[role] in op["description"]


def test_summaries_are_written_not_made_from_function_names(document: dict[str, Any]) -> None:
    assert {op["summary"] for op in operations(document).values()} <= set(SUMMARIES.values())


def test_errors_are_the_ones_each_operation_can_answer(document: dict[str, Any]) -> None:
    for name, op in operations(document).items():
        codes = {int(c) for c in op["responses"] if c >= "400"}
        has_body = "requestBody" in op
        path = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert (413 in codes) == has_body, name
        refers = name in ("recordEvents", "onboardUser", "recommendFromItems", "createExperiment")
        refers |= name in ("recommendGroup", "startDigest")  # a segment may be missing
        found = bool(path & {"item_id", "name", "job_id"}) and name not in ("putItem", "putSegment")
        assert (404 in codes) == (found or refers), name
        assert (401 in codes) == (name not in OPEN), name
        assert (403 in codes) == (name in WRITES | EVENTS | PRIVATE), name
        assert (422 in codes) == (has_body or bool(op.get("parameters"))), name
        assert (503 in codes) == (name not in ("health",)), name
        conflicts = ("onboardUser", "createExperiment", "recommendForUser", "similarItems")
        conflicts += ("putItem", "writeItems", "pushFeed")  # nothing for the template to embed
        conflicts += ("putSpace",)  # a space that exists with another dimension or metric
        conflicts += ("createTenant",)  # a tenant of that name exists
        conflicts += ("digestRows",)  # a job not done
        conflicts += ("recommendGroup",)  # a member with no positive event yet
        assert (409 in codes) == (name in conflicts), name
        for code in codes:
            body = op["responses"][str(code)]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/ErrorOut"}
    assert "HTTPValidationError" not in document["components"]["schemas"]


@pytest.mark.parametrize("name", ["recommendForUser", "similarItems"])
def test_json_query_parameters_are_typed_url_encoded_json(
    document: dict[str, Any], name: str
) -> None:
    params = {p["name"]: p for p in operations(document)[name]["parameters"]}
    expected = {"where": "Where", "weights": "Weights", "context": "Context"}
    for param, schema in expected.items():
        if name == "similarItems" and param != "where":
            continue
        assert "schema" not in params[param]
        content = params[param]["content"]["application/json"]["schema"]
        assert content == {"$ref": f"#/components/schemas/{schema}"}
        assert "URL-encoded JSON" in params[param]["description"]


def test_the_url_encoded_example_of_a_parameter_is_one_the_server_takes(
    client: TestClient, document: dict[str, Any]
) -> None:
    params = operations(document)["recommendForUser"]["parameters"]
    for p in params:
        if "content" in p:
            given = re.search(r"`(\w+=[^`]+)`", p["description"])
            assert given is not None
            response = client.get(f"/v1/users/u1/recommendations?{given.group(1)}")
            assert response.status_code == 200, response.text


def test_weights_name_the_hybrids_sources(client: TestClient) -> None:
    weights = quote(json.dumps(dict.fromkeys(SOURCES, 1)))
    response = client.get(f"/v1/users/u1/recommendations?strategy=hybrid&weights={weights}")
    assert response.status_code == 200, response.text
    unknown = quote(json.dumps({"magic": 1}))
    response = client.get(f"/v1/users/u1/recommendations?strategy=hybrid&weights={unknown}")
    assert response.status_code == 422


# In an order that makes each example valid: items first, then what refers to them.
BODY_ORDER = [
    ("putItem", "/v1/items/a1"),
    ("writeItems", "/v1/items:batch"),
    ("searchItems", "/v1/search"),
    ("putSpace", "/v1/spaces/image"),
    ("recordEvents", "/v1/events"),
    ("recommendFromItems", "/v1/recommend"),
    ("recommendGroup", "/v1/groups/recommendations"),  # u1 and u2 have events by now
    ("trackList", "/v1/impressions"),
    ("pushFeed", "/v1/feed"),
    ("onboardUser", "/v1/users/{new}/onboarding"),
    ("createExperiment", "/v1/experiments"),
    ("stopExperiment", "/v1/experiments/homepage/stop"),
    ("createTenant", "/v1/tenants"),
    ("startDigest", "/v1/digests"),
    ("putProperties", "/v1/users/{new}/properties"),
    ("putSegment", "/v1/segments/premium"),
]


def test_every_request_body_has_examples_that_fit_its_schema_and_the_server_takes(
    secured: TestClient,
) -> None:
    document = secured.get("/openapi.json").json()
    ops = operations(document)
    with_body = {name for name, op in ops.items() if "requestBody" in op}
    assert with_body == {name for name, _ in BODY_ORDER}
    for k, (name, path) in enumerate(BODY_ORDER):
        content = ops[name]["requestBody"]["content"]
        method = next(
            m for ops_ in document["paths"].values() for m, o in ops_.items() if o is ops[name]
        )
        for media, spec in content.items():
            assert spec["examples"], (name, media)
            for j, example in enumerate(spec["examples"].values()):
                value = example["value"]
                if media == "application/json":
                    assert schema_of(document, spec["schema"]).is_valid(value), (name, value)
                body = value if isinstance(value, str) else json.dumps(value)
                response = secured.request(
                    method,
                    path.format(new=f"new{k}{j}"),
                    content=body.encode(),
                    headers={**auth(WRITE), "Content-Type": media},
                )
                assert response.status_code < 300, (name, value, response.text)


def test_a_405_lists_every_method_of_the_path(client: TestClient) -> None:
    response = client.post("/v1/items/a1")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PUT"
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert client.put("/v1/experiments").headers["allow"] == "GET, POST"
    assert client.delete("/healthz").headers["allow"] == "GET"


@pytest.mark.parametrize("site", [False, True])
def test_the_docs_pages_and_their_assets_are_served_from_the_package(
    engine: Engine, site: bool
) -> None:
    with TestClient(create_app(Settings(site=site), engine=engine)) as client:
        page = client.get("/docs").text
        assert 'src="/static/vendor/swagger-ui-bundle.js"' in page and "https://" not in page
        redoc = client.get("/redoc")
        assert 'src="/static/vendor/redoc.standalone.js"' in redoc.text
        assert "https://" not in redoc.text
        for name in FILES.values():
            assert client.get(f"/static/vendor/{name}").status_code == 200, name
        assert client.get("/static/site.css").status_code == (200 if site else 404)


EXPERIMENT = {"name": "home", "variants": ["a:strategy=ema", "b:strategy=hybrid,diversity=0.3"]}


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        (EXPERIMENT, True),
        ({**EXPERIMENT, "split": "90/10"}, True),
        ({**EXPERIMENT, "split": None}, True),
        ({**EXPERIMENT, "split": ""}, False),
        ({**EXPERIMENT, "split": "50/50/1"}, False),
        ({**EXPERIMENT, "split": "0/100"}, False),
        ({**EXPERIMENT, "name": "Home"}, False),
        ({**EXPERIMENT, "variants": ["a:strategy=ema", "b:strategy=telepathy"]}, False),
    ],
)
def test_the_experiment_schema_accepts_what_the_parsers_accept(
    client: TestClient, body: dict[str, Any], valid: bool
) -> None:
    document = client.get("/openapi.json").json()
    schema = schema_of(document, {"$ref": "#/components/schemas/ExperimentIn"})
    assert schema.is_valid(body) is valid
    response = client.post("/v1/experiments", json=body)
    assert (response.status_code == 201) is valid, response.text


def test_a_session_vector_has_the_text_spaces_dimension(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schema = schema_of(document, {"$ref": "#/components/schemas/Example"})
    assert schema.is_valid("space1") and schema.is_valid([0.5] * 64)
    assert not schema.is_valid([0.5] * 63) and not schema.is_valid([0.0] * 64)
    assert not schema.is_valid(" ")
