"""Property-based: requests generated from the OpenAPI document never get a 5xx or a response
that breaks the document, and every request the document allows is accepted
(`positive_data_acceptance`): 2xx, or 401/403 (keys), 404 (a path or body naming a thing that
is not stored) or 409 (valid, but the state cannot serve it, e.g. no trained model yet); never
a 422. Bounded examples per operation, derandomized so CI sees the same cases every run.

The app serves a realistic store: a catalog that holds the ids the document's examples use
(`a1`, `a2`), events, and a trained model, so generated requests reach the real work and not
only the 404s.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from tests.service.conftest import CATALOG, must_differ

from likewise import Engine, Settings
from likewise.service import create_app

_engines: list[Engine] = []
EXAMPLE_ITEMS = [
    {"id": "a1", "title": "Rocket reaches the moon", "tags": ["space"], "category": "news"},
    {"id": "a2", "title": "Tomato soup"},
]
# Statuses a request the document allows may get; 422 is not one of them.
ACCEPTED = ["2xx", "401", "403", "404", "409"]


def _app() -> object:
    path = Path(tempfile.mkdtemp(prefix="likewise-schemathesis-"))
    engine = Engine.open(str(path / "data"), model="hashing-64")
    engine.add_items(CATALOG + EXAMPLE_ITEMS)
    ids = [i["id"] for i in CATALOG + EXAMPLE_ITEMS]
    engine.record_many(
        {"user_id": f"u{k % 3}", "item_id": ids[k % len(ids)], "type": "like", "timestamp": k}
        for k in range(18)
    )
    engine.train()
    _engines.append(engine)
    return create_app(Settings(), engine=engine)


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: object, value: object) -> bytes:
    """The document gives an NDJSON body's lines as an array: one element per line."""
    if isinstance(value, list):
        return "".join(json.dumps(v) + "\n" for v in value).encode("utf-8")
    return str(value).encode("utf-8")  # the examples are written as text


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.positive_data_acceptance,
]
CONFIG = schemathesis.Config.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}}}
)
schema = schemathesis.openapi.from_asgi("/openapi.json", _app(), config=CONFIG)


def _ids_differ(case: schemathesis.Case) -> bool:
    """The one rule of the document that JSON Schema cannot state: ids that must differ
    within a list (`uniqueItems` compares whole elements). The descriptions say so; the
    server answers 422 naming the repeated one."""
    keys = must_differ(case.body, case.operation.path)
    return keys is None or len(set(map(str, keys))) == len(keys)


def _one_strategy(case: schemathesis.Case) -> bool:
    """The cross-parameter rules of recommendForUser, which a parameter's schema cannot
    state (its descriptions do): `weights` and `diversity` tune the hybrid only, and `space`
    applies to the profile strategies only; the server answers 422 naming the parameter.
    And a `space` or `spaces` named: ones the store has (its state, which no schema can
    list), in place of `source` and in a group's list; a session's `vector` of that space's
    dimension, or else `positive` ids."""
    query = case.query or {}
    if "spaces" in query:
        return False
    if case.operation.path == "/v1/recommend":
        body = case.body if isinstance(case.body, dict) else {}
        given = "space" not in body and "vector" not in body
        return given and bool(body.get("positive"))
    if case.operation.path == "/v1/items/{item_id}/similar":
        return "space" not in query
    if case.operation.path == "/v1/groups/recommendations":
        body = case.body if isinstance(case.body, dict) else {}
        return body.get("space", "text") in ("text", "behaviour")
    if case.operation.path != "/v1/users/{user_id}/recommendations":
        return True
    if query.get("space", "text") not in ("text", "behaviour"):
        return False
    strategy = query.get("strategy")
    tuned = "weights" in query or "diversity" in query
    if tuned and strategy not in (None, "hybrid"):
        return False
    blend = strategy in ("hybrid", "popular") or (tuned and strategy is None)
    return not (blend and query.get("space", "text") != "text")


def _no_own_vectors(case: schemathesis.Case) -> bool:
    """Items' own `vectors` name spaces the store must have, of its dimensions: its state,
    which no schema can list (the document describes their form; the server refuses an
    unknown space or a wrong length with a 422 naming `vectors.SPACE`). So is `image_data`:
    its bytes must decode to a picture, which no schema describes."""
    if case.operation.path not in ("/v1/items/{item_id}", "/v1/items:batch", "/v1/feed"):
        return True
    body = case.body if isinstance(case.body, list) else [case.body]
    return not any(
        isinstance(b, dict) and (b.get("vectors") or b.get("image_data") is not None) for b in body
    )


def _one_audience(case: schemathesis.Case) -> bool:
    """A digest is for listed `users` or a `segment`'s, not both (a 422 naming `segment`)."""
    body = case.body if isinstance(case.body, dict) else {}
    both = body.get("users") is not None and body.get("segment") is not None
    return not (case.operation.path == "/v1/digests" and both)


@pytest.fixture(scope="module", autouse=True)
def _close() -> Iterator[None]:
    yield
    for engine in _engines:
        engine.close()


def test_positive_data_acceptance_is_configured() -> None:
    config = schema.config.checks_config_for()
    assert config.positive_data_acceptance.enabled
    assert config.positive_data_acceptance.expected_statuses == ACCEPTED
    assert config.not_a_server_error.enabled


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_keeps_its_contract(case: schemathesis.Case) -> None:
    kept = _ids_differ(case) and _one_strategy(case) and _one_audience(case)
    if kept and _no_own_vectors(case):  # else: see above
        case.call_and_validate(checks=CHECKS)
    else:
        case.call_and_validate(checks=CHECKS[:-1])
