"""A request target whose %-escapes are not UTF-8 (`caf%E9`, Latin-1) is refused whole.

The server decodes the path and the query with errors="replace": `/v1/items/caf%E9` and
`/v1/items/caf%E8` were the same id, `caf\ufffd`; the second PUT replaced the first's item,
and a DELETE of either deleted both's user."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from likewise import Engine


@pytest.mark.parametrize(
    ("method", "target", "json"),
    [
        ("PUT", "/v1/items/caf%E9", {"title": "Moon coffee"}),
        ("PUT", "/v1/t/acme/items/a%FFb", {"title": "Moon coffee"}),
        ("POST", "/v1/users/caf%E9/onboarding", {"items": ["space1"]}),
        ("PUT", "/v1/users/%FF/properties", {"plan": "premium"}),
        ("GET", "/v1/items/space1/similar?user_id=caf%E9", None),
        ("GET", "/v1/users/u%FF/recommendations", None),
        ("GET", "/v1/popular?where=%7B%22category%22%3A%22n%E9ws%22%7D", None),
    ],
)
def test_a_target_that_is_not_utf8_is_refused_and_changes_nothing(
    client: TestClient, engine: Engine, method: str, target: str, json: object
) -> None:
    response = client.request(method, target, json=json)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (
        "bad_request",
        "path" if "?" not in target else "query",
    )
    assert "UTF-8" in error["message"]
    engine.tracker.impressions.flush()
    stats = engine.stats()
    assert (stats["items"], stats["profiles"], engine.ctr_report()) == (4, 0, [])
    assert engine.user_properties("\ufffd") == {}


def test_the_document_lists_the_400_for_every_operation(client: TestClient) -> None:
    """Any operation may get such a target (`/healthz?x=%E9` too): its 400 is documented."""
    paths = client.get("/openapi.json").json()["paths"]
    missing = [
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        for method, op in operations.items()
        if "400" not in op["responses"]
    ]
    assert missing == []
    assert client.get("/healthz?x=%E9").status_code == 400
