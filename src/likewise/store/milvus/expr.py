"""The `where` grammar as a Milvus boolean expression, with the embedded store's semantics.

Each entity of a space's collection carries the item's filterable fields as one JSON field
`f`, derived in Python (so every store agrees on what a value *is*: 1 == 1.0, booleans apart
from numbers, dates parsed as `parse_date` parses them):

- `f["k"]`: a list of tokens, one per (field, equality key) of the field's elements and one
  for the field's presence. A token is a digest of the pair, so a field or value of any
  characters becomes a short hex string, and equality, sets and presence are
  `json_contains`, `json_contains_any` and `json_contains_all`.
- `f["r"]`: per (field, "n" numbers or "d" ISO dates as epoch seconds) a `[min, max]`. A range
  matches when *any* element does, so `gt`/`gte` read the largest and `lt`/`lte` the
  smallest. A missing key compares false, and `not` of it is true, as the reference has it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from likewise.filters import And, Cond, Filter, Not, Or, ValueKey, number, parse_date, value_key

__all__ = ["TRUE", "compile_expr", "fields_doc", "id_list"]

_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
# Milvus has no boolean constants in expressions: every id compares with the empty string.
TRUE = 'id >= ""'
FALSE = 'id < ""'
_PRESENT = "\x00present"  # no equality key starts with NUL, so it names presence alone


def _token(field: str, key: str) -> str:
    text = f"{field}\x00{key}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(text, digest_size=12).hexdigest()


def _key(key: ValueKey) -> str:
    kind, value = key
    if kind == "b":
        return "b:true" if value else "b:false"
    if kind == "n":
        return f"n:{float(value)!r}"
    return f"s:{value}"


def fields_doc(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON field `f` of one item's filterable fields."""
    tokens: set[str] = set()
    ranges: dict[str, list[float]] = {}
    for name, raw in fields.items():
        elements = raw if isinstance(raw, list | tuple) else ([] if raw is None else [raw])
        if not elements:
            continue
        tokens.add(_token(name, _PRESENT))
        tokens.update(_token(name, _key(k)) for e in elements if (k := value_key(e)) is not None)
        numbers = [n for e in elements if (n := number(e)) is not None]
        dates = [d for e in elements if isinstance(e, str) and (d := parse_date(e)) is not None]
        for kind, found in (("n", numbers), ("d", dates)):
            if found:
                ranges[_token(name, kind)] = [min(found), max(found)]
    return {"k": sorted(tokens), "r": ranges}


def id_list(ids: Iterable[str]) -> str:
    """Ids as a Milvus list literal: JSON strings, whose escapes Milvus reads alike."""
    return "[" + ", ".join(json.dumps(i, ensure_ascii=False) for i in ids) + "]"


def compile_expr(node: Filter | None, exclude: Iterable[str] = ()) -> str:
    """A Milvus boolean expression over `f` and `id`; "" (every entity) for no condition."""
    parts = [] if node is None else [_compile(node)]
    skip = list(exclude)
    if skip:
        parts.append(f"(id not in {id_list(skip)})")
    return " and ".join(parts)


def _compile(node: Filter) -> str:
    if isinstance(node, And):
        return "(" + " and ".join([_compile(p) for p in node.parts] or [TRUE]) + ")"
    if isinstance(node, Or):
        return "(" + " or ".join([_compile(p) for p in node.parts] or [FALSE]) + ")"
    if isinstance(node, Not):
        return f"(not {_compile(node.part)})"
    return _cond(node)


def _tokens(field: str, keys: Iterable[ValueKey]) -> str:
    return json.dumps([_token(field, _key(k)) for k in keys])


def _cond(node: Cond) -> str:
    op, field = node.op, node.field
    if op == "exists":
        test = f'json_contains(f["k"], "{_token(field, _PRESENT)}")'
        return f"({test})" if node.value else f"(not {test})"
    if op in ("eq", "ne"):
        test = f'json_contains(f["k"], "{_token(field, _key(node.value))}")'
        return f"({test})" if op == "eq" else f"(not {test})"
    if op in ("in", "any", "nin"):
        test = f'json_contains_any(f["k"], {_tokens(field, node.value)})'
        return f"({test})" if op != "nin" else f"(not {test})"
    if op == "all":
        return f'(json_contains_all(f["k"], {_tokens(field, node.value)}))'
    kind, bound = node.value
    end = 1 if op in ("gt", "gte") else 0  # the largest element for gt/gte, else the smallest
    return f'(f["r"]["{_token(field, kind)}"][{end}] {_OPS[op]} {float(bound)!r})'
