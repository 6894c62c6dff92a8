"""Hypothesis strategies for hostile JSONL and CSV files of items and of events (issue 18),
as bytes: what a file can hold, which is not what a Python string can. A lone surrogate is
a JSON escape (`\\ud800`) in JSONL and, where no escape exists (CSV), bytes that are not
UTF-8; NUL and control characters; 1 MB cells; JSON nested 1,000 deep; 1e400, 10**400, a
5,000-digit integer, NaN and Infinity; wrong types; byte order marks; ragged rows; empty
files; duplicate ids and columns. Used by tests/test_fuzz_loaders.py."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

__all__ = ["BROKEN", "EVENT", "EVENT_COLUMNS", "ITEM", "ITEM_COLUMNS", "csv_file", "record_lines"]


@dataclass(frozen=True)
class Raw:
    """JSON text written as it is: what `json.dumps` will not write."""

    text: str


def render(value: Any) -> str:
    """JSON text of `value` with `Raw` parts as they are. Strings are ASCII-escaped, so a
    lone surrogate is written as `\\ud800`, the only way a UTF-8 file can hold one."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    return json.dumps(value, allow_nan=True)


HOSTILE = ["\x00", "\n", "\r", "\t", "\x1b", "\x85", "\ufeff", "\u200b", "\u2028", "é", "a", " "]
MEGABYTE = "x" * 1_000_000
TEXT = st.one_of(
    st.text(max_size=10),
    st.lists(st.sampled_from([*HOSTILE, "\ud800", "\udfff"]), max_size=6).map("".join),
    st.sampled_from(["a1", "", " ", "007", "true", MEGABYTE]),
)
NUMBER = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [Raw(t) for t in ("1e400", "-1e400", "1" + "0" * 400, "9" * 5000, "NaN", "-Infinity")]
    ),
)
DEEP = st.sampled_from(
    [Raw("[" * 1000 + "]" * 1000), Raw('{"a": ' * 33 + "1" + "}" * 33), Raw("[" * 31 + "]" * 31)]
)
KEY = st.one_of(st.text(max_size=6), st.sampled_from(["", "a", "metadata", "tags", *HOSTILE]))
VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBER, TEXT, DEEP),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEY, inner, max_size=3)),
    max_leaves=6,
)
# Lines that are bad whatever the rules: each must be named by its line.
BROKEN = [
    b"{",
    b"[1, 2]",
    b'"just text"',
    b"null",
    b"\x00",
    b'{"id": "b1"} {"id": "b2"}',
    b'{"id": "b3", "title": "caf\xe9"}',  # Latin-1, not UTF-8
    b"\xef\xbb\xbf" + b'{"id": "b4"}',  # a byte order mark, not at the start of the file
]


def record_lines(record: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[bytes]:
    """A JSONL file: records, broken and blank lines, maybe a BOM, maybe CRLF, maybe empty."""
    line = st.one_of(
        record.map(lambda r: render(r).encode("ascii")),
        record.map(lambda r: render(r).encode("ascii")),
        st.sampled_from(BROKEN),
        st.sampled_from([b"", b"   "]),
    )
    return st.builds(
        _join, st.lists(line, max_size=4), st.booleans(), st.sampled_from([b"\n", b"\r\n"])
    )


def _join(lines: list[bytes], bom: bool, end: bytes) -> bytes:
    return (b"\xef\xbb\xbf" if bom else b"") + b"".join(line + end for line in lines)


PLAIN = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cf", "Cs"]), max_size=8)
ITEM = st.fixed_dictionaries(
    {"id": st.sampled_from(["a1", "a2", "n1", "n2"])},
    optional={"title": PLAIN, "tags": st.lists(PLAIN, max_size=2), "price": st.integers()},
) | st.fixed_dictionaries(
    {"id": st.one_of(st.sampled_from(["a1", "a2", "n1", "n2"]), TEXT, VALUE)},
    optional={
        "title": st.one_of(TEXT, VALUE),
        "body": TEXT,
        "tags": st.one_of(st.lists(TEXT, max_size=3), VALUE),
        "image": VALUE,
        "metadata": VALUE,
        "category": VALUE,
        "published_at": st.one_of(NUMBER, TEXT),
    },
)
EVENT = st.fixed_dictionaries(
    {
        "user_id": st.sampled_from(["u1", "u2"]),
        "item_id": st.sampled_from(["a1", "a2", "a3"]),
        "type": st.sampled_from(["click", "like", "view"]),
    },
    optional={"timestamp": st.integers(0, 2_000_000_000), "context": st.dictionaries(PLAIN, PLAIN)},
) | st.fixed_dictionaries(
    {
        "user_id": st.one_of(st.sampled_from(["u1", "u2"]), TEXT),
        "item_id": st.one_of(st.sampled_from(["a1", "a2", "a3", "gone"]), TEXT, VALUE),
        "type": st.one_of(st.sampled_from(["click", "like", "rating", "dwell", "zap"]), VALUE),
    },
    optional={
        "value": st.one_of(NUMBER, VALUE),
        "timestamp": st.one_of(NUMBER, TEXT, st.just("2026-01-02T03:04:05Z")),
        "context": VALUE,
        "event_id": st.one_of(TEXT, VALUE),
        "recommendation_id": st.one_of(TEXT, st.just("0" * 32)),
        "extra": VALUE,
    },
)

# CSV has no escapes: a lone surrogate can only be bytes that are not UTF-8 (U+DCFF is
# written as the byte 0xFF by `surrogateescape`).
CELL = st.one_of(
    st.text(max_size=8),
    st.lists(st.sampled_from([*HOSTILE, '"', ",", "|", "\udcff", "\udc80"]), max_size=6).map(
        "".join
    ),
    st.sampled_from(["", "a1", "a2", "u1", "click", "rating", "4", "1e400", "nan", "-inf"]),
    st.sampled_from(["9" * 5000, "1" + "0" * 400, "12345678901234567891", "007", MEGABYTE]),
)


def csv_file(required: list[str], columns: list[str]) -> st.SearchStrategy[bytes]:
    """A CSV file: a header of `required` and more of `columns` and hostile names (one file
    in ten with a header no file may have), then rows that may be ragged."""
    more = st.lists(st.one_of(st.sampled_from(columns), CELL), max_size=4)
    good = more.map(lambda extra: required + [c for c in extra if c not in required])
    bad = st.sampled_from([[], required[1:], [*required, required[0]], ["\udcff", *required]])
    header = st.integers(0, 9).flatmap(lambda k: bad if k == 3 else good)  # not 0: a favourite
    return header.flatmap(
        lambda names: st.builds(
            _csv,
            st.just(names),
            st.lists(
                st.lists(CELL, min_size=max(len(names) - 1, 0), max_size=len(names) + 1),
                max_size=4,
            ),
            st.booleans(),
            st.integers(0, 9).map(lambda k: k != 3),  # one in ten has no header: rows only
        )
    )


def _csv(names: list[str], rows: list[list[str]], bom: bool, present: bool) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    if present:  # else: no header at all (an empty file, or rows only)
        writer.writerow(names)
    writer.writerows(rows)
    prefix = "\ufeff" if bom else ""
    return (prefix + out.getvalue()).encode("utf-8", "surrogateescape")


ITEM_COLUMNS = ["id", "title", "body", "tags", "image", "category", "price"]
EVENT_COLUMNS = ["user_id", "item_id", "type", "value", "timestamp", "event_id"]
EVENT_COLUMNS += ["recommendation_id", "device"]
