"""Request bodies over HTTP: taken as they were sent or refused whole, and the refusal names
the place at fault as the Engine's errors do. Each test here failed before its fix."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from likewise import Engine

J = {"Content-Type": "application/json"}
NDJSON = {"Content-Type": "application/x-ndjson"}
EVENT_FIELDS = {"user_id": "u1", "item_id": "space1", "type": "click"}
AB = {"name": "home", "variants": ["a:strategy=ema", "b:strategy=mean"]}


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


def test_an_unknown_field_starts_no_experiment(client: TestClient) -> None:
    response = client.post("/v1/experiments", json={**AB, "splt": "90/10"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "splt"
    assert client.get("/v1/experiments").json() == []


def test_an_unknown_field_stops_no_experiment(client: TestClient) -> None:
    assert client.post("/v1/experiments", json=AB).status_code == 201
    response = client.post("/v1/experiments/home/stop", json={"promot": "b"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "promot"
    assert [e["running"] for e in client.get("/v1/experiments").json()] == [True]


def test_an_unknown_field_makes_no_segment(client: TestClient) -> None:
    response = client.put("/v1/segments/premium", json={"where": {"plan": "p"}, "wher": {}})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "wher"
    assert client.get("/v1/segments").json()["segments"] == []


def test_an_unknown_field_onboards_no_user(client: TestClient, engine: Engine) -> None:
    body: dict[str, Any] = {"text": "moon rockets", "itemz": ["space1"]}
    response = client.post("/v1/users/u5/onboarding", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "itemz"
    assert client.post("/v1/users/u5/onboarding", json={"items": ["space1"]}).status_code == 204


def test_an_unknown_field_makes_no_tenant(client: TestClient) -> None:
    response = client.post("/v1/tenants", json={"name": "acme", "setting": {"strategy": "ema"}})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "setting"
    assert client.get("/v1/tenants").json()["tenants"] == []


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/v1/digests", {"name": "weekly", "users": ["u1", ""]}, "users[1]"),
        ("/v1/search", {"text": "moon", "exclude": ["space1", 5]}, "exclude[1]"),
        ("/v1/search", {"vector": [0.5, "x"]}, "vector[1]"),
        ("/v1/impressions", {"user_id": "u1", "strategy": "mine", "items": ["a", 3]}, "items[1]"),
    ],
)
def test_an_element_of_a_list_is_named_as_the_engine_names_it(
    client: TestClient, path: str, payload: dict[str, Any], field: str
) -> None:
    """`users[1]`, as the Engine's own errors (and the document) name a place, not `users.1`."""
    response = client.post(path, json=payload)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize("odd", [5, "click", None, [EVENT_FIELDS]])
def test_an_event_batch_names_the_element_that_is_no_object(
    client: TestClient, engine: Engine, odd: object
) -> None:
    response = client.post("/v1/events", json=[EVENT_FIELDS, odd])
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "events[1]"
    assert engine.stats()["events"] == 0


def test_a_client_gone_mid_body_is_no_internal_error(
    client: TestClient, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """A batch whose client disconnects before the body ends: nothing stored, and a 4xx in
    the access log and the metrics, not an internal error logged with its traceback."""
    chunks = [b'[{"id": "g1", "title": "Moon', b'"}, {"id": "g2", "ti']
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if chunks:
            return {"type": "http.request", "body": chunks.pop(0), "more_body": True}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/items:batch",
        "raw_path": b"/v1/items:batch",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    assert client.portal is not None
    client.portal.call(client.app, scope, receive, send)
    started = [m for m in sent if m["type"] == "http.response.start"]
    assert [m["status"] for m in started] == [400]
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    assert engine.count() == 4
    scrape = client.get("/metrics").text
    assert 'route="/v1/items:batch",status="400"' in scrape
    assert 'route="/v1/items:batch",status="500"' not in scrape


@pytest.mark.parametrize(
    ("items", "field"),
    [
        (["space1", ""], "items[1]"),
        (["space1\x00"], "items[0]"),
        (["a" * 600], "items[0]"),
        (["s"] * 10_001, "items"),  # longer than any list likewise serves (MAX_N)
    ],
)
def test_an_impression_of_ids_no_item_can_have_is_refused(
    client: TestClient, engine: Engine, items: list[str], field: str
) -> None:
    """They were logged (200) and counted: catalog coverage read 2.0 of the catalog."""
    shown = {"user_id": "u1", "strategy": "mine", "items": items}
    response = client.post("/v1/impressions", json=shown)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    engine.tracker.impressions.flush()
    assert engine.ctr_report() == []
