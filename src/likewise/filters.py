"""The `where` filter: one JSON shape for Python, the CLI and HTTP.

A filter is an object whose keys are metadata fields (or `tags`), all of which must match::

    {"category": "news",                          # equality (a list field: contains)
     "published_at": {"gte": "2026-01-01"},       # gt / gte / lt / lte on numbers or ISO dates
     "in_stock": true,                            # booleans
     "tags": {"any": ["space", "kids"]},          # contains-any; {"all": [...]} contains-all
     "brand": {"in": ["acme", "zeta"]},           # also: ne, nin, exists
     "$or": [{"category": "a"}, {"price": {"lt": 10}}]}   # also "$and": [...], "$not": {...}

A field that is missing (null, or an empty list) matches only `ne`, `nin` and
`{"exists": false}`. Numbers compare with numbers (1 == 1.0), booleans only with booleans,
strings exactly; a range on a date matches values that are ISO date strings. A list value
matches when any element does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from likewise.errors import InvalidInput
from likewise.items.records import lone_surrogate

__all__ = [
    "And",
    "Cond",
    "Filter",
    "Not",
    "Or",
    "ValueKey",
    "filterable",
    "matches",
    "parse_date",
    "parse_where",
]

RANGE_OPS = ("gt", "gte", "lt", "lte")
SET_OPS = ("in", "nin", "any", "all")
OPS = ("eq", "ne", *SET_OPS, *RANGE_OPS, "exists")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$")

NOT_FILTERABLE = ("id", "title", "body", "image")  # item fields `where` does not see

# (kind, value): "s" string, "n" number (as float, so 1 == 1.0), "b" boolean
ValueKey = tuple[str, Any]


@dataclass(frozen=True)
class Cond:
    field: str
    op: str
    value: Any  # ValueKey for eq/ne, tuple[ValueKey, ...] for set ops, ("n"|"d", float), bool


@dataclass(frozen=True)
class And:
    parts: tuple[Filter, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Filter, ...]


@dataclass(frozen=True)
class Not:
    part: Filter


Filter = Cond | And | Or | Not


def parse_date(text: str) -> float | None:
    """Seconds since the epoch for an ISO date or datetime string (naive means UTC), else None."""
    if not _DATE.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def number(value: Any) -> float | None:
    """A number as the float filters compare, or None: not a number (booleans are not one),
    NaN, infinite, or an integer no float can hold (JSON text may write `1` and 400 zeros;
    `float()` of it raises, which once left a store that could not open)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        out = float(value)
    except OverflowError:
        return None
    return out if math.isfinite(out) else None


def value_key(value: Any) -> ValueKey | None:
    """The equality key of a scalar, or None for what cannot be compared (null, objects,
    numbers without a finite float)."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        found = number(value)
        return None if found is None else ("n", found)
    if isinstance(value, str):
        return ("s", value)
    return None


def parse_where(where: Mapping[str, Any] | None, *, path: str = "where") -> Filter | None:
    """Validate a filter; raise InvalidInput naming the part that is wrong."""
    if where is None:
        return None
    if not isinstance(where, Mapping):
        raise InvalidInput("must be an object", field=path)
    parts: list[Filter] = []
    for key, cond in where.items():
        sub = f"{path}.{_shown(key)}"
        _unicode(key, sub)
        if key in ("$and", "$or"):
            if not isinstance(cond, list) or not cond:
                raise InvalidInput("must be a non-empty list of filters", field=sub)
            items = [_part(c, f"{sub}[{i}]") for i, c in enumerate(cond)]
            parts.append(And(tuple(items)) if key == "$and" else Or(tuple(items)))
        elif key == "$not":
            parts.append(Not(_part(cond, sub)))
        elif key.startswith("$"):
            raise InvalidInput("unknown operator; use $and, $or, $not", field=sub)
        elif not key:
            raise InvalidInput("field name must not be empty", field=sub)
        elif isinstance(cond, Mapping):
            if not cond:
                raise InvalidInput(f"empty condition; use one of {', '.join(OPS)}", field=sub)
            parts.extend(_parse_op(key, op, arg, f"{sub}.{op}") for op, arg in cond.items())
        else:
            parts.append(_parse_op(key, "eq", cond, sub))
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _part(where: Any, path: str) -> Filter:
    """A filter inside `$and`, `$or` or `$not`: an object (null was read as no filter, so
    `{"$not": null}` matched nothing and `{"$or": [null]}` everything)."""
    if not isinstance(where, Mapping):
        raise InvalidInput("must be a filter object", field=path)
    node = parse_where(where, path=path)
    return node if node is not None else And(())


def _shown(text: str) -> str:
    """`text` as an error may name it (a lone surrogate escaped)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _unicode(value: Any, path: str) -> None:
    """A string a database can store: no lone UTF-16 surrogate (JSON's escapes allow one)."""
    for text in value if isinstance(value, list) else [value]:
        if isinstance(text, str) and lone_surrogate(text):
            raise InvalidInput("is not valid Unicode (a lone surrogate)", field=path)


def _parse_op(field: str, op: str, arg: Any, path: str) -> Cond:
    _unicode(arg, path)
    for value in arg if isinstance(arg, list) else [arg]:
        if isinstance(value, int) and not isinstance(value, bool) and number(value) is None:
            raise InvalidInput(
                "is a number beyond the range of a float (about 1.8e308)", field=path
            )
    if op in ("eq", "ne"):
        key = value_key(arg)
        if key is None:
            raise InvalidInput("must be a string, number or boolean", field=path)
        return Cond(field, op, key)
    if op in SET_OPS:
        if not isinstance(arg, list) or not arg:
            raise InvalidInput("must be a non-empty list of values", field=path)
        keys = tuple(value_key(a) for a in arg)
        if any(k is None for k in keys):
            raise InvalidInput("values must be strings, numbers or booleans", field=path)
        return Cond(field, op, keys)
    if op in RANGE_OPS:
        bound = number(arg)
        if bound is not None:
            return Cond(field, op, ("n", bound))
        stamp = parse_date(arg) if isinstance(arg, str) else None
        if stamp is None:
            raise InvalidInput("must be a number or an ISO date (YYYY-MM-DD...)", field=path)
        return Cond(field, op, ("d", stamp))
    if op == "exists":
        if not isinstance(arg, bool):
            raise InvalidInput("must be true or false", field=path)
        return Cond(field, op, arg)
    raise InvalidInput(f"unknown operator; use one of {', '.join(OPS)}", field=path)


def compare(op: str, left: float, right: float) -> bool:
    if op == "gt":
        return left > right
    if op == "gte":
        return left >= right
    if op == "lt":
        return left < right
    return left <= right


def matches(node: Filter | None, fields: Mapping[str, Any]) -> bool:
    """The reference semantics: does a record (metadata plus `tags`) pass the filter?"""
    if node is None:
        return True
    if isinstance(node, And):
        return all(matches(p, fields) for p in node.parts)
    if isinstance(node, Or):
        return any(matches(p, fields) for p in node.parts)
    if isinstance(node, Not):
        return not matches(node.part, fields)
    raw = fields.get(node.field)
    elements = raw if isinstance(raw, list | tuple) else ([] if raw is None else [raw])
    keys = {value_key(e) for e in elements}
    op = node.op
    if op == "exists":
        return bool(elements) is node.value
    if op in ("eq", "ne"):
        return (node.value in keys) is (op == "eq")
    if op in ("in", "any", "nin"):
        return any(k in keys for k in node.value) is (op != "nin")
    if op == "all":
        return all(k in keys for k in node.value)
    kind, bound = node.value
    for e in elements:
        if kind == "n" and (value := number(e)) is not None:
            if compare(op, value, bound):
                return True
        elif kind == "d" and isinstance(e, str):
            stamp = parse_date(e)
            if stamp is not None and compare(op, stamp, bound):
                return True
    return False


def filterable(record: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an item record that `where` filters see (metadata and tags)."""
    return {k: v for k, v in record.items() if k not in NOT_FILTERABLE}
