"""The document's schemas of a filter, an event and an item accept what the server's own
parsers accept, and refuse what they refuse (a client generator's types, schemathesis's data)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.service.test_openapi import schema_of

from likewise import Settings
from likewise.errors import InvalidInput
from likewise.events.model import parse_event
from likewise.filters import OPS, parse_where
from likewise.items.model import parse_item
from likewise.service import create_app


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(Settings()).openapi()


WHERE_CASES = [
    ({"category": "news"}, True),
    ({"tags": {"any": ["space"]}, "price": {"lt": 10, "gte": 1.5}}, True),
    ({"published_at": {"gte": "2026-01-01"}, "on": True}, True),
    ({"$or": [{"a": 1}, {"$not": {"b": {"exists": False}}}]}, True),
    ({"$and": [{"a": {"nin": ["x", 2, False]}}]}, True),
    ({"a": {"ne": "x", "eq": "y", "in": [1], "all": ["z"], "gt": 0, "lte": 9}}, True),
    ({"a": None}, False),
    ({"a": [1, 2]}, False),
    ({"a": {}}, False),
    ({"a": {"in": []}}, False),
    ({"a": {"like": "x"}}, False),
    ({"a": {"gt": "soon"}}, False),
    ({"a": {"exists": 1}}, False),
    ({"$xor": [{"a": 1}]}, False),
    ({"$or": []}, False),
    ({"": 1}, False),
]


@pytest.mark.parametrize(("where", "valid"), WHERE_CASES)
def test_the_where_schema_accepts_what_the_filter_parser_accepts(
    document: dict[str, Any], where: dict[str, Any], valid: bool
) -> None:
    schema = schema_of(document, {"$ref": "#/components/schemas/Where"})
    try:
        parse_where(where)
        parsed = True
    except InvalidInput:
        parsed = False
    assert parsed is valid
    assert schema.is_valid(where) is valid


def test_the_where_schema_names_every_operator(document: dict[str, Any]) -> None:
    where = document["components"]["schemas"]["Where"]
    assert set(where["additionalProperties"]["anyOf"][1]["properties"]) == set(OPS)


EVENT = {"user_id": "u1", "item_id": "a1", "type": "click"}
EVENT_CASES = [
    (EVENT, True),
    ({**EVENT, "timestamp": "2026-01-02T03:04:05Z", "context": {"device": "tv"}}, True),
    ({**EVENT, "type": "rating", "value": 4}, True),
    ({**EVENT, "type": "dwell", "value": 31.5, "event_id": "e1"}, True),
    ({**EVENT, "type": "rating", "value": 6}, False),
    ({**EVENT, "type": "rating"}, False),
    ({**EVENT, "type": "teleport"}, False),
    ({**EVENT, "user_id": " "}, False),
    ({**EVENT, "item_id": "a\n1"}, False),
    ({**EVENT, "colour": "red"}, False),
    ({"user_id": "u1", "type": "click"}, False),
]


@pytest.mark.parametrize(("event", "valid"), EVENT_CASES)
def test_the_event_schema_accepts_what_the_server_accepts(
    document: dict[str, Any], event: dict[str, Any], valid: bool
) -> None:
    rules = Settings().profiles.signal_rules()
    try:
        rules.signal(parse_event(event))
        parsed = True
    except InvalidInput:
        parsed = False
    assert parsed is valid
    assert schema_of(document, {"$ref": "#/components/schemas/Event"}).is_valid(event) is valid


ITEM_CASES = [
    ({"id": "a1"}, True),
    ({"id": "a1", "title": "T", "tags": ["x"], "category": "news", "price": 3.5}, True),
    ({"id": "a1", "metadata": {"brand": "acme"}, "image": None}, True),
    ({"id": ""}, False),
    ({"id": "a1", "title": "nul\x00"}, False),
    ({"id": "a1", "tags": "space"}, False),
    ({"id": "a1", "metadata": []}, False),
    ({"title": "no id"}, False),
    ({"id": "a1", "metadata": {"k": {"deep": ["nul\x00"]}}}, False),
    ({"id": "a1", "brand": "x", "metadata": {"brand": "y"}}, False),
]


@pytest.mark.parametrize(("item", "valid"), ITEM_CASES)
def test_the_item_schema_accepts_what_the_server_accepts(
    document: dict[str, Any], item: dict[str, Any], valid: bool
) -> None:
    try:
        parse_item(item)
        parsed = True
    except InvalidInput:
        parsed = False
    assert parsed is valid
    assert schema_of(document, {"$ref": "#/components/schemas/Item"}).is_valid(item) is valid
