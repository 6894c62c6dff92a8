"""Issue 18's hostile inputs, each reproduced over HTTP first: lone surrogates and deep
nesting are a 4xx naming the field, never a 500, and store nothing."""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from likewise import Engine

LONE = "t\ud800"  # JSON may escape it ("\\ud800"); UTF-8 cannot hold it
J = {"Content-Type": "application/json"}


def body(value: object) -> bytes:
    return json.dumps(value).encode()  # ensure_ascii: the surrogate travels as an escape


@pytest.mark.parametrize(
    ("method", "path", "payload", "field"),
    [
        ("PUT", "/v1/items/s1", {"title": LONE}, "title"),
        ("PUT", "/v1/items/s1", {"tags": ["ok", LONE]}, "tags[1]"),
        ("PUT", "/v1/items/s1", {"colour": LONE}, "colour"),
        ("PUT", "/v1/items/s1", {"meta": {LONE: 1}}, "meta.t\\ud800"),
        ("POST", "/v1/items:batch", [{"id": "s2", "title": LONE}], "items[0].title"),
        (
            "POST",
            "/v1/events",
            {"user_id": "u1", "item_id": "space1", "type": "click", "context": {"x": LONE}},
            "context.x",
        ),
        ("POST", "/v1/users/u9/onboarding", {"text": LONE}, "text"),
        ("POST", "/v1/search", {"text": LONE}, "text"),
        ("POST", "/v1/recommend", {"positive": ["space1"], "context": {"a": LONE}}, "context.a"),
    ],
)
def test_a_lone_surrogate_is_named_not_a_500(
    client: TestClient, engine: Engine, method: str, path: str, payload: object, field: str
) -> None:
    before = engine.stats()
    response = client.request(method, path, content=body(payload), headers=J)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    after = engine.stats()
    assert (after["items"], after["events"]) == (before["items"], before["events"])


def test_ndjson_with_a_lone_surrogate_names_its_line(client: TestClient) -> None:
    lines = body({"id": "ok"}) + b"\n" + body({"id": "s3", "body": LONE}) + b"\n"
    response = client.post(
        "/v1/items:batch", content=lines, headers={"Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "items[1].body"


def deep(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/v1/items:batch", {"content": "[" + deep(1000) + "]", "headers": J}),
        (
            "POST",
            "/v1/items:batch",
            {"content": deep(1000), "headers": {"Content-Type": "application/x-ndjson"}},
        ),
        ("GET", "/v1/items/space1/similar", {"params": {"where": deep(1000)}}),
        ("GET", "/v1/users/u1/recommendations", {"params": {"context": deep(1000)}}),
        ("GET", "/v1/users/u1/recommendations", {"params": {"weights": deep(1000)}}),
        ("POST", "/v1/events", {"content": deep(1000), "headers": J}),
        ("PUT", "/v1/items/d1", {"content": deep(40), "headers": J}),
    ],
)
def test_deep_nesting_is_a_4xx_not_a_500(
    client: TestClient, method: str, path: str, kwargs: dict[str, object]
) -> None:
    response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert response.status_code in (400, 422), response.text
    error = response.json()["error"]
    assert error["field"] or error["message"].startswith("line 1")


def test_since_must_be_a_time(client: TestClient) -> None:
    for since in ("nan", "inf", "-inf"):
        response = client.get("/v1/reports/activity", params={"since": since})
        assert response.status_code == 422 and response.json()["error"]["field"] == "since"


def test_a_chunked_body_over_the_limit_is_a_413(client: TestClient) -> None:
    def chunks() -> object:
        text = '{"text": "' + "x" * 60_000 + '"}'  # the app's limit here is 50,000 bytes
        for start in range(0, len(text), 8_192):
            yield text[start : start + 8_192].encode()

    response = client.post("/v1/search", content=chunks(), headers=J)  # no Content-Length
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"


def test_a_long_search_text_is_cut_before_the_model(engine: Engine) -> None:
    seen: list[int] = []
    embed_batch = engine.embedder.embed_batch

    def spy(texts: list[str]) -> object:
        seen.extend(len(t) for t in texts)
        return embed_batch(texts)

    engine.embedder.embed_batch = spy  # type: ignore[method-assign]
    hits = engine.search("moon " * 400_000, n=1)  # 2 MB
    assert hits and seen == [engine.embedder.max_chars]


@pytest.mark.parametrize(
    "given", ["a%C2%85b", "%EF%BB%BFa", "a%E2%80%A8b", "a%C2%ADb", "a%E2%80%8Bb"]
)
def test_invisible_and_control_characters_are_refused_in_ids(
    client: TestClient, engine: Engine, given: str
) -> None:
    response = client.put(f"/v1/items/{given}", json={"title": "x"})
    assert response.status_code == 422 and response.json()["error"]["field"] == "id"
    event = {"user_id": unquote(given), "item_id": "space1", "type": "view"}
    assert client.post("/v1/events", json=event).status_code == 422
    assert engine.count() == 4


def test_an_events_key_reads_the_catalog_and_lists_but_no_users_history(
    engine: Engine,
) -> None:
    """The key the pages publish (issue 18: decide and test its reach)."""
    from likewise import Settings
    from likewise.service import create_app

    settings = Settings(event_keys=["page"], read_keys=["team"], write_keys=["admin"])
    with TestClient(create_app(settings, engine=engine)) as c:
        page, team = {"Authorization": "Bearer page"}, {"Authorization": "Bearer team"}
        event = {"user_id": "u1", "item_id": "space1", "type": "click"}
        assert c.post("/v1/events", json=event, headers=page).status_code == 200
        for path in ("/v1/users/u1/recommendations", "/v1/items/space1/similar", "/v1/popular"):
            assert c.get(path, headers=page).status_code == 200, path
        for path in ("/v1/users/u1/events", "/v1/users/u1/profile"):
            refused = c.get(path, headers=page)
            assert refused.status_code == 403, path
            assert "events key" in refused.json()["error"]["message"]
            assert c.get(path, headers=team).status_code == 200, path
        assert c.delete("/v1/users/u1/events", headers=page).status_code == 403


EVENT = {"user_id": "u1", "item_id": "space1", "type": "click"}


@pytest.mark.parametrize(
    ("method", "path", "payload", "field"),
    [
        # pydantic's lax mode read `true` as 1 and `false` as 0 (schemathesis, negative data)
        ("POST", "/v1/search", {"text": "moon", "min_score": False}, "min_score"),
        ("POST", "/v1/search", {"text": "moon", "n": True}, "n"),
        ("POST", "/v1/recommend", {"positive": ["space1"], "n": "3"}, "n"),
        ("POST", "/v1/events", {**EVENT, "type": "rating", "value": True}, "value"),
        ("POST", "/v1/events", {**EVENT, "timestamp": False}, "timestamp"),
        # a filter inside $not/$or that is null was read as no filter: matched nothing/all
        ("POST", "/v1/search", {"text": "moon", "where": {"$not": None}}, "where.$not"),
        (
            "POST",
            "/v1/recommend",
            {"positive": ["space1"], "where": {"$or": [None]}},
            "where.$or[0]",
        ),
    ],
)
def test_a_wrong_type_is_named_not_read_as_a_number(
    client: TestClient, engine: Engine, method: str, path: str, payload: object, field: str
) -> None:
    response = client.request(method, path, json=payload)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert engine.stats()["events"] == 0


@pytest.mark.parametrize(
    ("path", "name", "value", "field"),
    [
        # json.loads raises ValueError (no JSONDecodeError) past 4,300 digits: a 500
        ("/v1/items/space1/similar", "where", '{"n": ' + "9" * 5000 + "}", "where"),
        ("/v1/users/u1/recommendations", "context", '{"n": ' + "9" * 5000 + "}", "context"),
        # float() of 10**400 raised OverflowError: a 500
        (
            "/v1/users/u1/recommendations",
            "weights",
            '{"content": 1' + "0" * 400 + "}",
            "weights.content",
        ),
        ("/v1/popular", "where", '{"n": 1' + "0" * 400 + "}", "where.n"),
    ],
)
def test_a_number_no_float_holds_is_named_not_a_500(
    client: TestClient, path: str, name: str, value: str, field: str
) -> None:
    response = client.get(path, params={name: value})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_a_body_that_is_not_json_names_the_body_or_the_line(client: TestClient) -> None:
    response = client.post("/v1/search", content=b'{"text": ', headers=J)
    assert response.status_code == 400 and response.json()["error"]["field"] == "body"
    lines = b'{"id": "n1"}\n{"id": \n'
    ndjson = {"Content-Type": "application/x-ndjson"}
    response = client.post("/v1/items:batch", content=lines, headers=ndjson)
    assert response.status_code == 422 and response.json()["error"]["field"] == "items[1]"
    digits = b'[{"id": "n1", "n": ' + b"9" * 5000 + b"}]"
    response = client.post("/v1/items:batch", content=digits, headers=J)
    assert response.status_code == 422 and response.json()["error"]["field"] == "body"


def test_an_event_time_is_what_the_document_says(client: TestClient) -> None:
    """The document said `minimum: 0` while the server took any time from year 1: an
    accepted negative case for schemathesis. It now states the server's bounds."""
    from likewise.events.model import FIRST_MOMENT, LAST_MOMENT

    schema = client.get("/openapi.json").json()["components"]["schemas"]["Event"]
    number = schema["properties"]["timestamp"]["anyOf"][0]
    assert (number["minimum"], number["exclusiveMaximum"]) == (FIRST_MOMENT, LAST_MOMENT)
    assert client.post("/v1/events", json={**EVENT, "timestamp": -1}).status_code == 200
    late = client.post("/v1/events", json={**EVENT, "timestamp": LAST_MOMENT})
    assert late.status_code == 422 and late.json()["error"]["field"] == "timestamp"


def test_a_like_of_an_item_with_no_direction_and_a_huge_number_are_no_500(
    client: TestClient,
) -> None:
    """The hashing model finds no word in "!!!": a first like of it was a 500. An item with
    10**400 in its metadata made the embedded store unable to open."""
    assert client.put("/v1/items/bang", json={"title": "!!!"}).status_code == 201
    like = {"user_id": "u7", "item_id": "bang", "type": "like"}
    assert client.post("/v1/events", json=like).json()["accepted"] == 1
    huge = b'{"title": "Moon rocket", "n": 1' + b"0" * 400 + b"}"
    assert client.put("/v1/items/huge", content=huge, headers=J).status_code == 201
    assert client.get("/v1/items/space1/similar").status_code == 200
