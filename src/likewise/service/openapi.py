"""The OpenAPI document, made fit for a client generator.

FastAPI writes the document from the routes; :func:`install` post-processes it once per app:
stable camelCase operation ids, written summaries, the bearer scheme and the role each
operation needs (read from its dependencies), typed `where`/`weights`/`context` query
parameters (URL-encoded JSON), typed event and item bodies with examples, and the error
responses each operation can really return.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from likewise.service.auth import (
    RANK,
    Role,
    require_admin,
    require_events,
    require_private,
    require_read,
    require_write,
)
from likewise.service.openapi_search import search_forms
from likewise.service.openapi_types import REF, SINCE, an_id, example, ref, schemas
from likewise.service.schemas import ErrorOut

__all__ = ["OPERATION_IDS", "SUMMARIES", "install", "operation_id", "role_of"]

# By route function name. A route not named here gets the camelCase of its function's name.
OPERATION_IDS = {
    "recommendations": "recommendForUser",
    "recommend_from": "recommendFromItems",
    "profile": "userProfile",
    "onboard": "onboardUser",
    "forget": "forgetUser",
    "user_events": "listUserEvents",
    "delete_user_events": "deleteUserEvents",
    "similar": "similarItems",
    "search": "searchItems",
    "list_spaces": "listSpaces",
    "put_space": "putSpace",
    "list_items": "listItems",
    "popular_items": "popularItems",
    "latest_items": "latestItems",
    "put_item": "putItem",
    "get_item": "getItem",
    "delete_item": "deleteItem",
    "write_batch": "writeItems",
    "record": "recordEvents",
    "track_list": "trackList",
    "ctr": "ctrReport",
    "activity": "activityReport",
    "list_all": "listExperiments",
    "report": "experimentReport",
    "create": "createExperiment",
    "stop": "stopExperiment",
    "healthz": "health",
    "readyz": "readiness",
    "metrics": "metrics",
    "stats": "storeStats",
}
SUMMARIES = {
    "recommendations": 'Recommend items for a user ("for you")',
    "recommend_from": "Recommend items from a set of items",
    "track_list": "Log a list shown",
    "profile": "What is known of a user",
    "onboard": "Start a new user from text or chosen items",
    "forget": "Forget a user and everything recorded about them",
    "user_events": "List a user's events",
    "delete_user_events": "Delete a user's events",
    "similar": "Items related to an item",
    "search": "Search items by free text or by a vector",
    "list_spaces": "List vector spaces",
    "put_space": "Declare a vector space",
    "list_items": "List items",
    "popular_items": "Popular items",
    "latest_items": "Latest items",
    "put_item": "Create or replace an item",
    "get_item": "Get an item",
    "delete_item": "Delete an item",
    "write_batch": "Create or replace many items",
    "record": "Record events",
    "ctr": "Click-through and conversion rates",
    "activity": "Event volume, list latency and catalog coverage",
    "list_all": "List experiments",
    "report": "An experiment's results",
    "create": "Start an experiment",
    "stop": "Stop an experiment",
    "healthz": "Liveness",
    "readyz": "Readiness: the store is open",
    "metrics": "Prometheus metrics",
    "stats": "Store counts and the trained model",
}
UNTIL = {**SINCE, "description": "epoch seconds or ISO-8601 (default: now)"}
ITEM = {"id": "a1", "title": "Rocket reaches the moon", "tags": ["space"], "category": "news"}
EVENT = {
    "user_id": "u1",
    "item_id": "a1",
    "type": "click",
    "recommendation_id": "5f0c3e0a9b7d4c2e8f1a6b3d9c0e7f21",
}
# Request body examples by route function name: media type -> example name -> value.
EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "record": {
        "application/json": {
            "one": EVENT,
            "batch": [EVENT, {"user_id": "u2", "item_id": "a2", "type": "rating", "value": 4}],
        }
    },
    "put_item": {"application/json": {"item": {k: v for k, v in ITEM.items() if k != "id"}}},
    "write_batch": {
        "application/json": {"items": [ITEM, {"id": "a2", "title": "Tomato soup"}]},
        "application/x-ndjson": {"lines": json.dumps(ITEM) + '\n{"id": "a2", "title": "Soup"}\n'},
    },
    "search": {
        "application/json": {
            "search": {"text": "moon landing", "n": 5, "where": {"category": "news"}},
        }
    },
    "put_space": {"application/json": {"image": {"dim": 512, "metric": "cosine"}}},
    "onboard": {
        "application/json": {"text": {"text": "space, cooking"}, "items": {"items": ["a1"]}}
    },
    "create": {
        "application/json": {
            "ab": {"name": "homepage", "variants": ["a:strategy=ema", "b:strategy=hybrid"]}
        }
    },
    "stop": {"application/json": {"stop": {}, "promote": {"promote": "b"}}},
    "track_list": {
        "application/json": {
            "shelf": {"user_id": "u1", "strategy": "editors-picks", "items": ["a1", "a2"]}
        }
    },
    "recommend_from": {
        "application/json": {
            "session": {"positive": ["a1"], "negative": ["a2"], "n": 5},
            "best": {"positive": ["a1"], "strategy": "best_score", "where": {"category": "news"}},
        }
    },
}
# Request bodies the routes take as free JSON, typed here.
BODIES: dict[str, dict[str, Any]] = {
    "record": {"oneOf": [ref("Event"), {"type": "array", "items": ref("Event")}]},
    "put_item": ref("ItemFields"),
    "write_batch": {"type": "array", "items": ref("Item")},
    "push_feed": {"type": "array", "items": ref("Item")},  # `deleted: true` deletes
}
# NDJSON bodies: the lines as an array (a generator's array is sent one element per line).
NDJSON = {"write_batch": {"type": "array", "items": ref("Item")}}
# Free JSON fields of body models, typed: model -> field -> schema.
FIELDS: dict[str, dict[str, Any]] = {
    "SearchIn": {"where": ref("Where")},
    "RecommendFrom": {"where": ref("Where"), "context": ref("Context")},
    "GroupIn": {"where": ref("Where")},
}
# POST /v1/recommend takes at most MAX_EXAMPLES (100) ids or vectors in all; the document
# gives each list its own share of them, as a schema cannot bound a sum.
EXAMPLE_SHARES = {"positive": (1, 80), "negative": (0, 20)}
NEEDS_BODY = ("onboard",)  # every field is optional, but one of them must be given
RESPONSES = {"get_item": ref("Item")}  # 200 bodies the routes declare as free JSON
JSON_PARAMETERS = {
    "where": ("Where", "The metadata filter", {"category": "news"}),
    "weights": ("Weights", "The hybrid's source weights", {"collaborative": 1, "content": 0.5}),
    "context": ("Context", "The request's context", {"device": "mobile"}),
}
MUST_EXIST = ("item_id", "name", "job_id")  # path ids of things that can be missing (a user cannot)
# Bodies naming items (or users, or a segment) that may be missing: 404.
REFER = ("record", "onboard", "recommend_from", "create", "recommend_group", "start_digest")
# 409: valid, but the state cannot serve it: a user with a history, a running experiment, the
# behaviour space or a learned source before `train`, an item in which the store's template
# finds nothing to embed, a space that exists with another dimension or metric.
CONFLICTS: tuple[str, ...] = ("onboard", "create", "recommendations", "similar", "put_item")
CONFLICTS += ("write_batch", "put_space", "create_tenant", "digest_rows", "push_feed")
CONFLICTS += ("recommend_group",)
ROLES: dict[Callable[..., Any], Role] = {
    require_read: "read",
    require_events: "events",
    require_private: "private",
    require_write: "write",
    require_admin: "write",  # a server write key: managing tenants
}
NEEDS = {
    "read": "Needs an API key (any role) when keys are configured.",
    "events": "Needs an events or a write key when keys are configured.",
    "private": "Needs a read or a write key when keys are configured: a user's history is "
    "not for an events key, which pages publish.",
    "write": "Needs a write key when keys are configured.",
}
ERRORS = {
    400: "The body is not valid JSON, or the path or the query is not UTF-8 once its "
    "%-escapes are decoded (`field` says which).",
    401: "No API key, or an unknown one (when keys are configured).",
    403: "The key's role does not allow this operation.",
    404: "Not found: the path's item or experiment, or an item the body names (`field` says "
    "where).",
    409: "Valid, but the stored state cannot serve it (e.g. no trained model yet).",
    413: "The body is larger than the `max_body_bytes` setting.",
    415: "The body is not sent as JSON (`Content-Type: application/json`).",
    422: "Invalid input; `field` names the part at fault.",
    503: "The store is unavailable; the same request may succeed after `Retry-After` seconds.",
}


def camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def operation_id(route: APIRoute) -> str:
    """FastAPI's `generate_unique_id_function`: the route's stable operation id."""
    return OPERATION_IDS.get(route.name) or camel(route.name)


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def role_of(route: APIRoute | RouteContext) -> Role | None:
    """The strongest role the route's dependencies (its router's included) require."""
    found = [ROLES[d.call] for d in _dependencies(route.dependant) if d.call in ROLES]
    return max(found, key=RANK.__getitem__, default=None)


def install(
    app: FastAPI, event_types: Sequence[str], rating: tuple[float, float] = (1.0, 5.0)
) -> None:
    """Serve the post-processed document at `app.openapi_url`; `event_types` are the types
    the server's signal settings know, `rating` their rating scale (min, max)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            finish(document, app, event_types, rating)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def finish(
    document: dict[str, Any],
    app: FastAPI,
    event_types: Sequence[str],
    rating: tuple[float, float] = (1.0, 5.0),
) -> None:
    components = document.setdefault("components", {})
    types = components.setdefault("schemas", {})
    types.update(schemas(event_types, rating))
    error = ErrorOut.model_json_schema(ref_template=REF + "{model}")
    types.update(error.pop("$defs"), ErrorOut=error)
    for name in ("HTTPValidationError", "ValidationError"):
        types.pop(name, None)
    for model, fields in FIELDS.items():
        properties = types.get(model, {}).get("properties", {})
        for name, schema in fields.items():
            if name in properties:
                properties[name] = {"anyOf": [schema, {"type": "null"}], "default": None}
    session = types.get("RecommendFrom", {}).get("properties", {})
    for name, (least, most) in EXAMPLE_SHARES.items():
        if name in session:
            session[name].update(minItems=least, maxItems=most)
    engine = getattr(app.state, "engine", None)  # the text space's dimension, once open
    types["Example"] = example(None if engine is None else engine.spaces()["text"].dim)
    spaces = None if engine is None else engine.spaces().values()
    if "SearchIn" in types:
        forms = None if spaces is None else {s.name: (s.dim, s.metric) for s in spaces}
        types["SearchIn"].update(search_forms(forms))
    components["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer KEY`: a read, events or write key "
            "(settings `read_keys`, `event_keys`, `write_keys`).",
        }
    }
    # FastAPI keeps an included router whole; its contexts are the routes as included (with
    # the router's prefix and dependencies).
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            for method in route.methods or ():
                _operation(document["paths"][route.path_format][method.lower()], route)
    _rename_bodies(document)


def _operation(op: dict[str, Any], route: RouteContext) -> None:
    name = route.name or ""
    op["summary"] = SUMMARIES.get(name, op.get("summary", ""))
    role = role_of(route)
    if role is not None:
        op["security"] = [{"bearer": []}]
        op["x-likewise-role"] = role
        op["description"] = f"{op.get('description', '').rstrip()}\n\n{NEEDS[role]}".lstrip()
    for parameter in op.get("parameters", []):
        if parameter["in"] == "query" and parameter["name"] in JSON_PARAMETERS:
            _json_parameter(parameter)
        elif parameter["name"] in ("user_id", "item_id"):  # ids are not blank, no controls
            parameter["schema"] = an_id(parameter.get("description", parameter["name"]))
        elif parameter["name"] in ("since", "until"):  # `until`: a report's time, default now
            parameter["schema"] = SINCE if parameter["name"] == "since" else UNTIL
    body = op.get("requestBody", {}).get("content", {})
    if name in BODIES:
        body["application/json"]["schema"] = BODIES[name]
    if name in NEEDS_BODY:
        op["requestBody"]["required"] = True
    if name in NDJSON:
        body["application/x-ndjson"]["schema"] = NDJSON[name]
    for media, examples in EXAMPLES.get(name, {}).items():
        body[media].pop("example", None)
        body[media]["examples"] = {k: {"value": v} for k, v in examples.items()}
    if name in RESPONSES:
        op["responses"]["200"]["content"]["application/json"]["schema"] = RESPONSES[name]
    responses = {k: v for k, v in op["responses"].items() if not "400" <= k < "600"}
    for status in errors(op, route, role):
        responses[str(status)] = _error(status)
    op["responses"] = responses


def _json_parameter(parameter: dict[str, Any]) -> None:
    schema, what, example = JSON_PARAMETERS[parameter["name"]]
    encoded = quote(json.dumps(example, separators=(",", ":")), safe="")
    parameter.pop("schema", None)
    parameter["content"] = {"application/json": {"schema": ref(schema)}}
    parameter["description"] = (
        f"{what} as URL-encoded JSON (see the `{schema}` schema), e.g. "
        f"`{parameter['name']}={encoded}` for `{json.dumps(example)}`."
    )


def errors(op: dict[str, Any], route: RouteContext, role: Role | None) -> list[int]:
    """The error statuses the operation can answer."""
    path = [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]
    has_body = "requestBody" in op
    found = [400]  # any path or query whose %-escapes are not UTF-8 (middleware.Utf8Target)
    if role is not None:
        found += [401, 403] if RANK[role] > RANK["read"] else [401]
    if (route.name or "") in REFER or (
        any(p in MUST_EXIST for p in path) and "PUT" not in (route.methods or ())
    ):
        found.append(404)
    if (route.name or "") in CONFLICTS:
        found.append(409)
    if has_body:
        found.append(413)
    if route.body_field is not None:  # read as JSON under a JSON media type only
        found.append(415)
    if has_body or op.get("parameters"):
        found.append(422)
    if (route.path or "").startswith("/v1/") or route.name in ("readyz", "metrics"):
        found.append(503)
    return found


def _error(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ERRORS[status],
        "content": {"application/json": {"schema": ref("ErrorOut")}},
    }
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    if status == 503:
        retry = {"schema": {"type": "integer"}, "description": "seconds"}
        response["headers"] = {"Retry-After": retry}
    return response


def _rename_bodies(document: dict[str, Any]) -> None:
    """FastAPI names an embedded body `Body_<operationId>`; a generator makes a class of it,
    so `<OperationId>Body` reads better."""
    types = document["components"]["schemas"]
    for old in [n for n in types if n.startswith("Body_")]:
        new = old.removeprefix("Body_")
        new = new[:1].upper() + new[1:] + "Body"
        types[new] = {**types.pop(old), "title": new}
        _replace_ref(document, REF + old, REF + new)


def _replace_ref(node: Any, old: str, new: str) -> None:
    if isinstance(node, dict):
        if node.get("$ref") == old:
            node["$ref"] = new
        for value in node.values():
            _replace_ref(value, old, new)
    elif isinstance(node, list):
        for value in node:
            _replace_ref(value, old, new)
