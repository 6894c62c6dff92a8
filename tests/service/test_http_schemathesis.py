"""Property-based: requests generated from the OpenAPI document never get a 5xx or a response
that breaks the document (bounded examples per operation).

The request schemas say what JSON is accepted (an item is an object, metadata is free JSON);
the deeper rules (an id is not blank, a rating is 1-5) answer 422, which every operation
documents. So the checks are the ones about the server and its responses, not whether each
schema-shaped request is accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from tests.service.conftest import CATALOG

from likewise import Engine, Settings
from likewise.service import create_app

_engines: list[Engine] = []


def _app() -> object:
    path = Path(__import__("tempfile").mkdtemp(prefix="likewise-schemathesis-"))
    engine = Engine.open(str(path / "data"), model="hashing-64")
    engine.add_items(CATALOG)
    _engines.append(engine)
    return create_app(Settings(), engine=engine)


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: object, value: object) -> bytes:
    return str(value).encode("utf-8")


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@pytest.fixture(scope="module", autouse=True)
def _close() -> Iterator[None]:
    yield
    for engine in _engines:
        engine.close()


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_keeps_its_contract(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)
