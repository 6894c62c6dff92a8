"""The `where` grammar compiled to a PostgreSQL condition, with the embedded store's semantics.

Each item row carries two jsonb columns derived in Python from its metadata (so both stores
agree on what a value *is*: 1 == 1.0, booleans apart from numbers, dates parsed as
`parse_date` parses them):

- `fkeys`: field -> the equality keys of its elements, e.g. ``{"category": ["s:news"],
  "price": ["n:2.5"]}``, present only when the field has elements. Equality and set tests are
  jsonb containment (`@>`) and presence is `?`, both served by a GIN index.
- `franges`: field -> ``{"n": [min, max], "d": [min, max]}`` over its numbers and its ISO
  dates (epoch seconds). A range matches when *any* element does, so `gt`/`gte` need only
  the largest element and `lt`/`lte` the smallest: one jsonb lookup per row, no jsonpath.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from likewise.filters import (
    RANGE_OPS,
    And,
    Cond,
    Filter,
    Not,
    Or,
    ValueKey,
    number,
    parse_date,
    value_key,
)

__all__ = ["Candidates", "candidates", "compile_where", "filter_columns", "number_rows"]

_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _key(key: ValueKey) -> str:
    kind, value = key
    if kind == "b":
        return "b:true" if value else "b:false"
    if kind == "n":
        return f"n:{float(value)!r}"
    return f"s:{value}"


def filter_columns(fields: Mapping[str, Any]) -> tuple[str, str]:
    """The `fkeys` and `franges` documents (JSON text) of one item's filterable fields."""
    keys: dict[str, list[str]] = {}
    ranges: dict[str, dict[str, list[float]]] = {}
    for name, raw in fields.items():
        elements = raw if isinstance(raw, list | tuple) else ([] if raw is None else [raw])
        if not elements:
            continue
        keys[name] = sorted({_key(k) for e in elements if (k := value_key(e)) is not None})
        numbers = [n for e in elements if (n := number(e)) is not None]
        dates = [d for e in elements if isinstance(e, str) and (d := parse_date(e)) is not None]
        bounds = {k: [min(v), max(v)] for k, v in (("n", numbers), ("d", dates)) if v}
        if bounds:
            ranges[name] = bounds
    return json.dumps(keys, ensure_ascii=False), json.dumps(ranges, ensure_ascii=False)


def compile_where(node: Filter | None) -> tuple[str, list[Any]]:
    """A SQL condition over `fkeys`/`franges` and its parameters (`%s` style); TRUE for None."""
    if node is None:
        return "TRUE", []
    params: list[Any] = []
    return _compile(node, params), params


def _compile(node: Filter, params: list[Any]) -> str:
    if isinstance(node, And):
        return "(" + " AND ".join([_compile(p, params) for p in node.parts] or ["TRUE"]) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join([_compile(p, params) for p in node.parts] or ["FALSE"]) + ")"
    if isinstance(node, Not):
        return f"NOT {_compile(node.part, params)}"
    return _cond(node, params)


def _contains(field: str, keys: list[ValueKey], params: list[Any]) -> str:
    params.append(json.dumps({field: [_key(k) for k in keys]}, ensure_ascii=False))
    return "fkeys @> %s::jsonb"


def _cond(node: Cond, params: list[Any]) -> str:
    op, field = node.op, node.field
    if op == "exists":
        params.append(field)
        return "(fkeys ? %s)" if node.value else "NOT (fkeys ? %s)"
    if op in ("eq", "ne"):
        test = _contains(field, [node.value], params)
        return test if op == "eq" else f"NOT ({test})"
    if op in ("in", "any", "nin"):
        tests = " OR ".join(_contains(field, [k], params) for k in node.value)
        return f"({tests})" if op != "nin" else f"NOT ({tests})"
    if op == "all":
        return _contains(field, list(node.value), params)
    kind, bound = node.value
    end = 1 if op in ("gt", "gte") else 0  # the largest element for gt/gte, else the smallest
    params.extend([field, kind, bound])
    return f"COALESCE((franges -> %s -> %s ->> {end})::float8 {_OPS[op]} %s, FALSE)"


def number_rows(item_id: str, fields: Mapping[str, Any]) -> list[tuple[str, str, float, str]]:
    """The (field, kind, value, item id) rows of `item_numbers` for one item: every number
    ("n") and every ISO date ("d", as epoch seconds), so a range is a B-tree range scan."""
    rows = []
    for name, raw in fields.items():
        elements = raw if isinstance(raw, list | tuple) else ([] if raw is None else [raw])
        for e in elements:
            if isinstance(e, int | float) and not isinstance(e, bool):
                if (value := number(e)) is not None:
                    rows.append((name, "n", value, item_id))
            elif isinstance(e, str) and (stamp := parse_date(e)) is not None:
                rows.append((name, "d", stamp, item_id))
    return rows


@dataclass(frozen=True)
class Candidates:
    """A query for the `seq` of every item passing a filter (and perhaps more: `exact` says
    whether it yields exactly those), answered by indexes: GIN for keys and presence, the
    B-tree of `item_numbers` for ranges."""

    sql: str
    params: list[Any]
    exact: bool


def candidates(node: Filter | None) -> Candidates | None:
    """The indexed candidates of `node`, or None when some part needs a scan."""
    if node is None:
        return None
    if isinstance(node, And):
        found = [c for p in node.parts if (c := candidates(p)) is not None]
        if not found:
            return None
        best = found[0]  # one indexed part narrows the set; the caller checks the rest
        return Candidates(best.sql, best.params, best.exact and len(node.parts) == 1)
    if isinstance(node, Or):
        parts = [candidates(p) for p in node.parts]
        each = [p for p in parts if p is not None]
        if not each or len(each) != len(parts):
            return None
        return Candidates(
            " UNION ".join(f"({c.sql})" for c in each),
            [x for c in each for x in c.params],
            all(c.exact for c in each),
        )
    if isinstance(node, Not) or node.op in ("ne", "nin") or node.value is False:
        return None
    params: list[Any] = []
    if node.op in RANGE_OPS:
        kind, bound = node.value
        params.extend([node.field, kind, bound])
        op = _OPS[node.op]
        return Candidates(
            f"SELECT seq FROM item_numbers WHERE field = %s AND kind = %s AND value {op} %s",
            params,
            True,
        )
    return Candidates(f"SELECT seq FROM items WHERE {_cond(node, params)}", params, True)
