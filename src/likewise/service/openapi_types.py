"""The JSON Schemas of the API's free-form JSON: `Where` (the filter grammar of `filters.py`),
`Weights`, `Context`, `Event` (`events/model.py`) and `Item` (`items/model.py`).

The routes take these as plain dicts (they are validated by the library, which names the field
at fault); these schemas tell a client, a client generator or a property-based test what is
accepted. Keep them in step with the modules they describe: `tests/service/test_openapi.py`
sends the examples through the real validators.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from likewise.events.model import FIRST_MOMENT, LAST_MOMENT
from likewise.filters import RANGE_OPS, SET_OPS
from likewise.items.model import ID_FORBIDDEN, MAX_ID_LENGTH

__all__ = ["ID_PATTERN", "SINCE", "SOURCES", "an_id", "example", "ref", "schemas"]

REF = "#/components/schemas/"
# The sources the hybrid blends (recommend/sources/defaults.py), which `weights` may name.
SOURCES = (
    "content",
    "collaborative",
    "ease",
    "sequential",
    "neural",
    "behaviour",
    "popular",
    "fresh",
)

NO_NUL = "^[^\\u0000]*$"  # no database's text type can hold the NUL character
# An id: not blank, and none of the characters the server refuses (`ID_FORBIDDEN`), written
# as JSON Schema escapes.
_NOT = "".join(c if c == "-" else f"\\u{ord(c):04x}" for c in ID_FORBIDDEN)
ID_PATTERN = f"^[^{_NOT}]*[^\\s{_NOT}][^{_NOT}]*$"


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


def an_id(description: str) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_ID_LENGTH,
        "pattern": ID_PATTERN,
        "description": description,
    }


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "type": [schema["type"], "null"]}


SINCE = {
    "anyOf": [{"type": "number"}, {"type": "string", "format": "date-time"}],
    "description": "epoch seconds or ISO-8601 (default: everything)",
}
SCALAR = {"type": ["string", "number", "boolean"]}
BOUND = {
    "anyOf": [
        {"type": "number"},
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
    ],
    "description": "a number, or an ISO date or time (naive is UTC)",
}
OPERATORS = {
    "type": "object",
    "description": "conditions on one field, all of which must hold",
    "minProperties": 1,
    "additionalProperties": False,
    "properties": {
        **{op: SCALAR for op in ("eq", "ne")},
        **{op: {"type": "array", "minItems": 1, "items": SCALAR} for op in SET_OPS},
        **{op: BOUND for op in RANGE_OPS},
        "exists": {"type": "boolean"},
    },
}

WHERE = {
    "type": "object",
    "description": "A metadata filter: every key must match. A key is a metadata field (or "
    "`tags`) whose value is a string, number or boolean (equality; on a list field: contains) "
    "or an object of operators (`eq`, `ne`, `in`, `nin`, `any`, `all`, `gt`, `gte`, `lt`, "
    "`lte`, `exists`); or one of `$and`, `$or` (non-empty lists of filters) and `$not` (a "
    "filter). A missing field matches only `ne`, `nin` and `exists: false`.",
    "properties": {
        "$and": {"type": "array", "minItems": 1, "items": ref("Where")},
        "$or": {"type": "array", "minItems": 1, "items": ref("Where")},
        "$not": ref("Where"),
    },
    "propertyNames": {"minLength": 1, "pattern": "^([^$]|\\$(and|or|not)$)"},
    "additionalProperties": {"anyOf": [SCALAR, OPERATORS]},
    "examples": [
        {"category": "news", "published_at": {"gte": "2026-01-01"}},
        {"$or": [{"tags": {"any": ["space", "kids"]}}, {"price": {"lt": 10}}]},
    ],
}
WEIGHTS = {
    "type": "object",
    "description": "The hybrid's weight of each source (a number >= 0, at least one above 0) "
    "for this request.",
    "propertyNames": {"enum": list(SOURCES)},
    "additionalProperties": {"type": "number", "minimum": 0},
    "minProperties": 1,
    "not": {"additionalProperties": {"maximum": 0}},
    "examples": [{"collaborative": 1, "content": 0.5}],
}
CONTEXT = {
    "type": "object",
    "description": "Free JSON about the request (device, locale, page, ...), kept with the "
    "impression or event; context rules match it, with `daypart` and `weekday` from the "
    "clock unless given.",
    "examples": [{"device": "mobile", "locale": "en"}],
}
# Metadata: any JSON whose strings (keys and values) hold no NUL, at any depth (the server
# refuses NUL anywhere, naming the key).
JSON_VALUE = {
    "description": "any JSON value whose strings (keys and values) hold no NUL",
    "anyOf": [
        {"type": "string", "pattern": NO_NUL},
        {"type": ["number", "boolean", "null"]},
        {"type": "array", "items": ref("JsonValue")},
        {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL},
            "additionalProperties": ref("JsonValue"),
        },
    ],
}
METADATA_VALUE = ref("JsonValue")
# An item's own vectors, as the server checks them (engine/checks.py): a declared space's
# name (SPACE_NAME there) and an array of its dimension, every number within +-1e6 (the
# dimension and whether the space exists are the store's, which no schema can list).
VECTOR_BOUND = 1e6
VECTORS = {
    "type": "object",
    "description": "the item's own vectors, by space: each space declared first (PUT "
    "/v1/spaces/{space}), each vector an array of that space's dimension (not all zeros in "
    "a cosine space). `text` only in a store whose model is `vectors:<dim>`, where every "
    "item must carry it; elsewhere `text` is the model's. Not returned: the store keeps them "
    "in their spaces.",
    "propertyNames": {"pattern": "^[a-z][a-z0-9_]{0,31}$"},
    "additionalProperties": {
        "type": "array",
        "minItems": 1,
        "items": {"type": "number", "minimum": -VECTOR_BOUND, "maximum": VECTOR_BOUND},
    },
    "examples": [{"image": [0.12, -0.5, 0.33]}],
}
TEXT = {"type": "string", "pattern": NO_NUL}
CONTENT = {
    "title": {**TEXT, "description": "embedded (with body and tags, by the store's template)"},
    "body": TEXT,
    "tags": {"type": "array", "items": TEXT},
    "image": {
        "type": ["string", "null"],
        "pattern": NO_NUL,
        "description": "a link to the item's image; with `image_folder` set, a file there to "
        "embed into the space `image`, and with `image_fetch` on, an http(s) URL to fetch",
    },
    "image_data": {
        "type": ["string", "null"],
        "minLength": 1,
        "contentEncoding": "base64",
        "description": "the image's bytes, base64 or a `data:image/...;base64,` URI, embedded "
        "into the space `image` and never stored (at most 20 MB decoded)",
    },
    "image_sha256": {
        "type": ["string", "null"],
        "pattern": "^[0-9a-f]{64}$",
        "description": "the SHA-256 of the image's bytes, kept instead of them; sent back "
        "without bytes, it keeps the item's vector in `image`",
    },
    "metadata": {
        "type": "object",
        "description": "metadata given nested; the same as top-level keys, which it must not "
        "repeat",
        "propertyNames": {"minLength": 1, "pattern": NO_NUL},
        "additionalProperties": METADATA_VALUE,
    },
    "vectors": VECTORS,
}
ITEM_DESCRIPTION = (
    "An item: its id, the content fields, and metadata at the top level (any other key, e.g. "
    "`category`, `published_at`, `price`), which filters see; or metadata nested in "
    "`metadata`, with no other keys beside the content fields."
)


def item(*, with_id: bool) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "description": ITEM_DESCRIPTION,
        "properties": {"id": an_id("the caller's id")} if with_id else {},
        "propertyNames": {"minLength": 1, "pattern": NO_NUL},
        "additionalProperties": METADATA_VALUE,
        "examples": [{"title": "Rocket reaches the moon", "tags": ["space"], "category": "news"}],
    }
    schema["properties"].update(CONTENT)
    # Metadata nested or at the top level, not both (a key given twice is refused).
    known: dict[str, Any] = {name: {} for name in schema["properties"]}
    schema["anyOf"] = [
        {"not": {"required": ["metadata"]}},
        {"properties": known, "additionalProperties": False},
    ]
    if with_id:
        schema["required"] = ["id"]
        schema["examples"] = [{"id": "a1", **schema["examples"][0]}]
    else:
        schema["description"] += " The id is the path's."
        schema["not"] = {"required": ["id"]}
    return schema


def example(dim: int | None) -> dict[str, Any]:
    """An entry of POST /v1/recommend's `positive` or `negative`: a stored item's id, or a
    vector of the text space (`dim` numbers, when the store is open; not all zero). The
    bounds keep a vector's squares finite in float32."""
    vector: dict[str, Any] = {
        "type": "array",
        "description": "a vector of the text space",
        "items": {"type": "number", "minimum": -1e6, "maximum": 1e6},
        "contains": {"anyOf": [{"minimum": 1e-6}, {"maximum": -1e-6}]},
    }
    if dim is not None:
        vector["minItems"] = vector["maxItems"] = dim
    return {"anyOf": [an_id("a stored item's id"), vector]}


def event(types: Sequence[str], rating: tuple[float, float] = (1.0, 5.0)) -> dict[str, Any]:
    """The Event, with the event types and the rating scale of the server's settings."""
    low, high = rating
    valued = [
        ("dwell", {"type": "number", "minimum": 0}),
        ("rating", {"type": "number", "minimum": low, "maximum": high}),
    ]
    return {
        "type": "object",
        "description": "One thing a user did to an item. A resend with the same `event_id` "
        "is a no-op; `recommendation_id` attributes it to a list that was served.",
        "additionalProperties": False,
        "required": ["user_id", "item_id", "type"],
        "properties": {
            "user_id": an_id("who"),
            "item_id": an_id("a stored item"),
            "type": {"type": "string", "enum": sorted(types)},
            "value": {
                "type": ["number", "null"],
                "description": f"dwell: seconds (>= 0); rating: stars ({low:g} to {high:g})",
            },
            "context": ref("Context"),
            "timestamp": {
                "anyOf": [
                    # what the server takes, so a time outside it is negative data
                    {"type": "number", "minimum": FIRST_MOMENT, "exclusiveMaximum": LAST_MOMENT},
                    {
                        "type": "string",
                        "format": "date-time",
                        "pattern": "^(19[7-9][0-9]|[2-8][0-9]{3})-",
                    },
                ],
                "description": "seconds since the epoch, or ISO-8601 (naive is UTC); default: "
                "now. The server takes any time within years 1 to 9999.",
            },
            "event_id": nullable(an_id("a resend with a known event_id is a no-op")),
            "recommendation_id": {
                "type": ["string", "null"],
                "pattern": "^[0-9a-f]{32}$",
                "description": "the recommendation_id of the list this event came from, as "
                "likewise returned it (32 hex digits)",
            },
        },
        "allOf": [
            {
                "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                "then": {"required": ["value"], "properties": {"value": value}},
            }
            for name, value in valued
        ],
        "examples": [
            {
                "user_id": "u1",
                "item_id": "a1",
                "type": "click",
                "recommendation_id": "5f0c3e0a9b7d4c2e8f1a6b3d9c0e7f21",
            }
        ],
    }


def schemas(
    event_types: Sequence[str], rating: tuple[float, float] = (1.0, 5.0)
) -> dict[str, dict[str, Any]]:
    """The components this module defines, by name."""
    return {
        "Where": WHERE,
        "Weights": WEIGHTS,
        "Context": CONTEXT,
        "Event": event(event_types, rating),
        "JsonValue": JSON_VALUE,
        "Item": item(with_id=True),
        "ItemFields": item(with_id=False),
    }
