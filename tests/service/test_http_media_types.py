"""A JSON body sent under another media type (curl -d sends form-urlencoded) is a 415 that
says so, not a 422 saying the body is no object, and changes nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from likewise import Engine

CALLS = [
    ("POST", "/v1/search", b'{"text": "moon"}'),
    ("POST", "/v1/events", b'{"user_id": "u1", "item_id": "space1", "type": "click"}'),
    ("PUT", "/v1/items/n1", b'{"title": "New moon"}'),
    ("PUT", "/v1/users/u1/properties", b'{"plan": "premium"}'),
    ("POST", "/v1/users/u2/onboarding", b'{"items": ["space1"]}'),
    ("POST", "/v1/feed", b'[{"id": "n2", "title": "New moon"}]'),
]


@pytest.mark.parametrize("media", [None, "text/plain", "application/x-www-form-urlencoded"])
@pytest.mark.parametrize(("method", "path", "content"), CALLS)
def test_a_json_body_under_another_media_type_is_a_415(
    client: TestClient, engine: Engine, method: str, path: str, content: bytes, media: str | None
) -> None:
    headers = {} if media is None else {"Content-Type": media}
    response = client.request(method, path, content=content, headers=headers)
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("unsupported_media_type", "body")
    assert "application/json" in error["message"] and (media or "none") in error["message"]
    stats = engine.stats()
    assert (stats["items"], stats["events"], stats["profiles"]) == (4, 0, 0)
    assert engine.user_properties("u1") == {} and engine.feed_status().pending == 0


def test_the_document_names_the_415(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    search = document["paths"]["/v1/search"]["post"]["responses"]
    assert search["415"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorOut"
    }
