"""Request bodies over HTTP: taken as they were sent or refused whole, and the refusal names
the place at fault as the Engine's errors do. Each test here failed before its fix."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from likewise import Engine

J = {"Content-Type": "application/json"}
NDJSON = {"Content-Type": "application/x-ndjson"}


@pytest.mark.parametrize(
    ("content", "headers", "field"),
    [
        (b'[{"id": "c1", "title": "Caf\xe9 au lait"}]', J, "body"),  # Latin-1, not UTF-8
        (b'{"id": "c0", "title": "ok"}\n{"id": "c1", "title": "Caf\xe9"}\n', NDJSON, "items[1]"),
    ],
)
def test_a_batch_that_is_not_utf8_is_refused_not_stored_mangled(
    client: TestClient, engine: Engine, content: bytes, headers: dict[str, str], field: str
) -> None:
    response = client.post("/v1/items:batch", content=content, headers=headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["field"], "UTF-8" in error["message"]) == (field, True)
    assert engine.count() == 4  # neither line stored
    assert client.get("/v1/items/c1").status_code == 404


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_an_ndjson_line_may_hold_a_unicode_line_separator(
    client: TestClient, separator: str
) -> None:
    """JSON strings may hold these unescaped (JavaScript's JSON.stringify writes them so);
    NDJSON lines end at a newline only."""
    title = f"one{separator}two"
    line = '{"id": "ls1", "title": "' + title + '"}\n'
    response = client.post("/v1/items:batch", content=line.encode(), headers=NDJSON)
    assert response.status_code == 200, response.text
    assert client.get("/v1/items/ls1").json()["title"] == title
