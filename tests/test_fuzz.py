"""Hostile input, generated (issue 18): surrogates, NUL and controls, long strings, deep
nesting, huge and non-finite numbers and wrong types, thrown at the Python API, the file
loaders and the HTTP API. Whatever comes in, the answer is a named error or success: never
another exception, never a 5xx. Bounded and derandomized, so CI runs the same cases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from likewise import Engine, Settings
from likewise.errors import LikewiseError
from likewise.events.loaders import load_events
from likewise.events.model import parse_event
from likewise.filters import parse_where
from likewise.items.loaders import load_items
from likewise.items.model import parse_item
from likewise.service import create_app

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
HOSTILE_CHARS = st.sampled_from(
    ["\x00", "\n", "\x85", "\ufeff", "\u200b", "\u2028", "\ud800", "\udfff", "é", "a", " "]
)
TEXT = st.one_of(
    st.text(max_size=20),
    st.lists(HOSTILE_CHARS, max_size=8).map("".join),
    st.just("x" * 5_000),
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 2**70]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=12,
)


def deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


RECORDS = st.one_of(
    st.dictionaries(
        st.sampled_from(
            [
                "id",
                "title",
                "body",
                "tags",
                "user_id",
                "item_id",
                "type",
                "value",
                "timestamp",
                "context",
                "colour",
                "event_id",
                "recommendation_id",
            ]
        ),
        JSON,
        max_size=6,
    ),
    JSON,
    st.builds(deep, st.integers(min_value=30, max_value=60)),
)


@FUZZ
@given(RECORDS)
def test_parsers_name_what_they_refuse(record: Any) -> None:
    for parse in (parse_item, parse_event):
        try:
            parse(record)
        except LikewiseError as exc:
            assert str(exc)
    if isinstance(record, dict):
        try:
            parse_where(record)
        except LikewiseError as exc:
            assert getattr(exc, "field", None)


@FUZZ
@given(st.lists(RECORDS, min_size=1, max_size=3), st.sampled_from(["jsonl", "csv"]))
def test_file_loaders_collect_bad_lines(
    tmp_path_factory: pytest.TempPathFactory, records: list[Any], kind: str
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / f"data.{kind}"
    if kind == "jsonl":
        text = "\n".join(json.dumps(r, allow_nan=True) for r in records)
    else:
        cells = [str(r) if not isinstance(r, dict) else json.dumps(r) for r in records]
        text = "id,title\n" + "\n".join(f'"{c.replace(chr(34), "")}",t' for c in cells)
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    for load in (load_items, load_events):
        try:
            loaded = load(path)
        except LikewiseError:
            continue  # a file that cannot be read at all: named
        for error in loaded.errors:
            assert str(error)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    engine = Engine.open(str(tmp_path_factory.mktemp("fuzz") / "data"), model="hashing-64")
    engine.add_items([{"id": "a1", "title": "Moon"}, {"id": "a2", "title": "Soup"}])
    with TestClient(create_app(Settings(max_body_bytes=2_000_000), engine=engine)) as c:
        yield c
    engine.close()


def send(client: TestClient, method: str, path: str, value: Any, **kw: Any) -> None:
    content = json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")
    response = client.request(
        method, path, content=content, headers={"Content-Type": "application/json"}, **kw
    )
    assert response.status_code < 500, (method, path, response.text)
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]


@FUZZ
@given(RECORDS)
def test_http_bodies_never_get_a_5xx(client: TestClient, record: Any) -> None:
    send(client, "PUT", "/v1/items/f1", record)
    send(client, "POST", "/v1/items:batch", [record])
    send(client, "POST", "/v1/events", record)
    send(client, "POST", "/v1/search", {"text": record} if not isinstance(record, dict) else record)
    send(client, "POST", "/v1/recommend", {"positive": ["a1"], "where": record})
    send(client, "POST", "/v1/users/f2/onboarding", record)


@FUZZ
@given(JSON)
def test_http_query_json_never_gets_a_5xx(client: TestClient, value: Any) -> None:
    text = json.dumps(value, allow_nan=True)
    for path, name in (
        ("/v1/items/a1/similar", "where"),
        ("/v1/users/u1/recommendations", "context"),
        ("/v1/users/u1/recommendations", "weights"),
        ("/v1/items", "where"),
        ("/v1/popular", "where"),
    ):
        response = client.get(path, params={name: text})
        assert response.status_code < 500, (path, name, text[:200], response.text)


# Numbers as JSON text can write them and Python reads them: an integer no float holds, one of
# more digits than int() reads (json.loads raises ValueError, not JSONDecodeError), an
# overflowing float, and the wrong types pydantic's lax mode would read as numbers.
RAW_NUMBERS = ["1" + "0" * 400, "-1" + "0" * 400, "9" * 5000, "1e400", "-1e400", "true", '"7"']
RAW_BODIES = [
    ("PUT", "/v1/items/f9", '{"title": "Moon", "n": %s}'),
    ("PUT", "/v1/items/f9", '{"title": "Moon", "meta": {"a": [%s]}}'),
    ("POST", "/v1/items:batch", '[{"id": "f9", "n": %s}]'),
    ("POST", "/v1/events", '{"user_id": "u1", "item_id": "a1", "type": "click", "timestamp": %s}'),
    ("POST", "/v1/events", '{"user_id": "u1", "item_id": "a1", "type": "rating", "value": %s}'),
    (
        "POST",
        "/v1/events",
        '[{"user_id": "u1", "item_id": "a1", "type": "click", "context": {"a": %s}}]',
    ),
    ("POST", "/v1/search", '{"text": "moon", "n": %s}'),
    ("POST", "/v1/search", '{"text": "moon", "min_score": %s}'),
    ("POST", "/v1/search", '{"text": "moon", "where": {"n": {"gte": %s}}}'),
    ("POST", "/v1/recommend", '{"positive": ["a1"], "n": %s}'),
    ("POST", "/v1/recommend", '{"positive": [[%s, 1]]}'),
    ("POST", "/v1/recommend", '{"positive": ["a1"], "where": {"n": {"in": [1, %s]}}}'),
    (
        "POST",
        "/v1/impressions",
        '{"user_id": "u1", "strategy": "s", "items": ["a1"], "context": {"a": %s}}',
    ),
    ("POST", "/v1/users/f3/onboarding", '{"text": "moon", "items": [%s]}'),
    (
        "POST",
        "/v1/experiments",
        '{"name": "f1", "variants": ["a:strategy=ema", "b:strategy=hybrid,diversity=%s"]}',
    ),
]
RAW_QUERIES = [
    ("/v1/items/a1/similar", "where", '{"n": %s}'),
    ("/v1/users/u1/recommendations", "weights", '{"content": %s}'),
    ("/v1/users/u1/recommendations", "context", '{"a": %s}'),
    ("/v1/users/u1/recommendations", "n", "%s"),
    ("/v1/users/u1/recommendations", "min_score", "%s"),
    ("/v1/items", "where", '{"$or": [{"n": {"lt": %s}}]}'),
    ("/v1/popular", "where", '{"n": %s}'),
    ("/v1/reports/activity", "since", "%s"),
]


JSON_TYPE = {"Content-Type": "application/json"}


def named(response: Any, what: str) -> None:
    """A success, or a 4xx whose error names its field when it is about an input."""
    assert response.status_code < 500, (what, response.text)
    if response.status_code in (400, 422):
        assert response.json()["error"]["field"], (what, response.text)


def test_http_numbers_no_float_holds_are_named_never_a_5xx(client: TestClient) -> None:
    """Every place a number (or any JSON) goes, with every number of RAW_NUMBERS: a success
    or a 4xx naming the field, never a 5xx (10**400 was a 500 in weights, and left the
    embedded store unable to open from an item's metadata)."""
    for number in RAW_NUMBERS:
        for method, path, template in RAW_BODIES:
            body = (template % number).encode()
            response = client.request(method, path, content=body, headers=JSON_TYPE)
            named(response, f"{method} {path} {template % number[:12]}")
        for path, name, template in RAW_QUERIES:
            response = client.get(path, params={name: template % number})
            named(response, f"GET {path}?{name}={template % number[:12]}")
