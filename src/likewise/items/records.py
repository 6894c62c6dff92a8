"""An item's record as the store keeps it: its JSON text, and the hashes that say whether it
(or its embedded text) changed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["hash_record", "record_text", "sha"]

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
