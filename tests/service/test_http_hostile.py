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
