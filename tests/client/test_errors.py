"""The error mapping (status and body code to the Engine's exceptions), the arguments the
client refuses before sending anything, and what a request carries; through
`httpx.MockTransport`, no network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.client.conftest import SRC

from likewise import (
    Client,
    ConfigError,
    Conflict,
    EmbedderError,
    InvalidInput,
    LikewiseError,
    NotFound,
    StoreFull,
    StoreUnavailable,
    Unauthorized,
)


def answering(status: int, body: Any, seen: list[httpx.Request] | None = None) -> Client:
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers={"Content-Type": "text/html"})
        return httpx.Response(status, json=body)

    return Client("http://likewise.test", retries=0, transport=httpx.MockTransport(handle))


def error(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        pytest.param(422, error("invalid_input", "must be 1 or more", "n"), InvalidInput, id="422"),
        pytest.param(422, error("invalid_input", "line 3: not JSON"), InvalidInput, id="line"),
        pytest.param(404, error("not_found", "item 'a1' not found"), NotFound, id="404"),
        pytest.param(404, error("not_found", 'experiment "it\'s" not found'), NotFound, id="quote"),
        pytest.param(409, error("conflict", "one experiment at a time"), Conflict, id="409"),
        pytest.param(
            409, error("config", "the store holds 64-d vectors"), ConfigError, id="config"
        ),
        pytest.param(503, error("store_unavailable", "locked"), StoreUnavailable, id="503"),
        pytest.param(503, error("store_full", "disk is full"), StoreFull, id="full"),
        pytest.param(503, error("embedder_unavailable", "no model"), EmbedderError, id="embedder"),
        # A case another release answers with another status: the code decides.
        pytest.param(404, error("invalid_input", "no stored item", "positive[0]"), InvalidInput),
        pytest.param(409, error("not_found", "item 'x' not found"), NotFound, id="moved"),
    ],
)
def test_the_body_becomes_the_engines_exception_and_back(
    status: int, body: dict[str, Any], kind: type[LikewiseError]
) -> None:
    with answering(status, body) as client, pytest.raises(LikewiseError) as raised:
        client.stats()
    assert type(raised.value) is kind
    assert raised.value.as_dict() == body  # the same error shape, both sides of the wire


def test_not_found_and_invalid_input_carry_their_parts() -> None:
    gone = error("not_found", "item 'a 1' not found")
    with answering(404, gone) as client, pytest.raises(NotFound) as missing:
        client.get("a 1")
    assert (missing.value.kind, missing.value.key) == ("item", "a 1")
    bad_line = error("invalid_input", "line 7: not JSON", "body")
    with answering(422, bad_line) as client, pytest.raises(InvalidInput) as bad:
        client.stats()
    assert (bad.value.line, bad.value.reason, bad.value.field) == (7, "not JSON", "body")


@pytest.mark.parametrize(
    ("status", "body", "kind", "words"),
    [
        pytest.param(401, error("unauthorized", "unknown API key"), Unauthorized, "unknown"),
        pytest.param(403, error("forbidden", "this key may read"), Unauthorized, "may read"),
        pytest.param(409, error("not_trained", "run train first"), Conflict, "train", id="code?"),
        pytest.param(400, error("bad_json", "the body is not JSON"), InvalidInput, "not JSON"),
        pytest.param(413, error("too_large", "over 1 MB"), InvalidInput, "1 MB", id="413"),
        pytest.param(500, error("internal", "internal error"), LikewiseError, "internal"),
        pytest.param(502, "<html>bad gateway</html>", LikewiseError, "HTTP 502 from GET http"),
        pytest.param(429, {}, StoreUnavailable, "HTTP 429", id="429-spent"),
    ],
)
def test_unknown_codes_and_bodies_fall_back_on_the_status(
    status: int, body: Any, kind: type[LikewiseError], words: str
) -> None:
    with answering(status, body) as client, pytest.raises(LikewiseError, match=words) as raised:
        client.stats()
    assert type(raised.value) is kind
    if kind is Unauthorized:
        assert raised.value.status == status  # type: ignore[attr-defined]


def test_the_api_key_is_sent_as_a_bearer_token() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"items": 2})

    transport = httpx.MockTransport(handle)
    with Client("http://likewise.test/", api_key="k1", transport=transport) as keyed:
        assert keyed.count() == 2 and keyed.url == "http://likewise.test"
    assert seen[-1].headers["authorization"] == "Bearer k1"
    assert seen[-1].url == "http://likewise.test/v1/stats"
    with Client("http://likewise.test", transport=transport) as anonymous:
        anonymous.count()
    assert "authorization" not in seen[-1].headers


REFUSED: list[tuple[Callable[[Client], Any], str]] = [
    (lambda c: c.recommend("u1", track=False), "track"),
    (lambda c: c.add_items([{"id": "a1"}], delete_missing=True), "delete_missing"),
    (lambda c: c.track("u1", "shelf", ["a1"], ms=2.0), "ms"),
    (lambda c: c.count(where={"category": "news"}), "where"),
    (lambda c: c.get("a/b"), "item_id"),
    (lambda c: c.popular(where={"tags": {1, 2}}), "where"),
    (lambda c: c.recommend("u1", exclude="a1"), "exclude"),
    (lambda c: c.recommend("u1", context={"at": float("nan")}), "context"),
]


@pytest.mark.parametrize(("call", "field"), REFUSED, ids=[f for _, f in REFUSED])
def test_what_http_cannot_carry_is_refused_before_sending(
    call: Callable[[Client], Any], field: str
) -> None:
    seen: list[httpx.Request] = []
    with answering(200, {}, seen) as client, pytest.raises(InvalidInput) as refused:
        call(client)
    assert refused.value.field == field and seen == []


def test_parameters_are_sent_as_the_routes_take_them() -> None:
    seen: list[httpx.Request] = []
    rec = {"recommendation_id": "r1", "user_id": "u 1", "strategy": "ema", "items": []}
    with answering(200, rec, seen) as client:
        found = client.recommend(
            "u 1",
            n=3,
            where={"category": "news"},
            exclude=["a1", "a2"],
            context={"device": "mobile"},
            weights={"content": 1},
            offset=4,
            space="behaviour",
        )
    assert found.offset == 4 and found.user_id == "u 1" and found.id == "r1"
    url = seen[0].url
    assert url.raw_path.split(b"?")[0] == b"/v1/users/u%201/recommendations"
    params = url.params
    assert params.get_list("exclude") == ["a1", "a2"]
    assert json.loads(params["where"]) == {"category": "news"}
    assert json.loads(params["context"]) == {"device": "mobile"}
    assert json.loads(params["weights"]) == {"content": 1}
    assert (params["n"], params["offset"], params["space"]) == ("3", "4", "behaviour")
    assert "include_seen" not in params and "strategy" not in params  # the defaults: left out
    hits = {"items": [{"id": "b1", "score": 0.5}]}
    with answering(200, hits, seen) as client:
        assert [h.as_dict() for h in client.similar("a1", space="behaviour")] == hits["items"]
    assert seen[-1].url.params["space"] == "behaviour" and "source" not in seen[-1].url.params


def test_importing_likewise_does_not_import_httpx() -> None:
    """httpx is the client's: the embedded engine and the server run without it."""
    code = "import sys, likewise; print('httpx' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "False", out.stderr
