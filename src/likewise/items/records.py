"""An item's record as the store keeps it: its JSON text, the hashes that say whether it
(or its embedded text) changed, and the test of a text no database can keep."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["hash_record", "lone_surrogate", "record_text", "sha"]

# `json.dumps` with arguments builds an encoder per call (a third of its time for a record);
# these are the same encoders, built once.
_SORTED = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
_AS_GIVEN = json.JSONEncoder(ensure_ascii=False)


def sha(text: str) -> str:
    """The SHA-256 hex digest of `text` as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_record(record: Mapping[str, Any]) -> str:
    """`Item.record_hash` of the item whose `to_record()` is `record` (a writer that has the
    record already need not make it again)."""
    return sha(_SORTED.encode(record))


def record_text(record: Mapping[str, Any]) -> str:
    """The record as stored: `json.dumps(record, ensure_ascii=False)`."""
    return _AS_GIVEN.encode(record)


_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(text: str) -> bool:
    """Whether `text` holds a lone UTF-16 surrogate (JSON's `\\ud800` escapes and Python's
    `surrogateescape` make them), which UTF-8, and so no database, can hold."""
    return not text.isascii() and _SURROGATE.search(text) is not None
