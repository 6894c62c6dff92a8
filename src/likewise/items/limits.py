"""The limits one record is checked against: how long an id, how large its metadata (or an
event's context), how deep its JSON. Pure: the Engine makes them from its settings
(`LimitsConfig`, `LIKEWISE_MAX_*`) and hands them to the parsers, which apply the defaults
when given none. Each refusal names the setting that moves it, so whoever meets a limit knows
it is a choice an operator made, and which one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationInfo

__all__ = [
    "AS_STORED",
    "DEEPEST",
    "MAX_DEPTH",
    "MAX_ID_LENGTH",
    "MAX_METADATA_BYTES",
    "Limits",
    "check_size",
    "limits_of",
]

# An id (and a metadata key, a field's name) is at most 256 characters, and no setting may
# raise it: PostgreSQL indexes a user id beside an item id (and a key beside a number) in one
# B-tree row of at most 2,704 bytes, which two ids of 256 four-byte characters fit and two of
# 400 do not (the write failed as "database unavailable").
MAX_ID_LENGTH = 256
MAX_METADATA_BYTES = 65_536  # an item's metadata (or an event's context) as UTF-8 JSON
MAX_DEPTH = 32  # how deep JSON (metadata, context, filters) may nest
DEEPEST = 256  # the most `max_depth` may be: the checks recurse once a level (Python: 1,000)


@dataclass(frozen=True)
class Limits:
    """What one record may hold; the defaults are the settings' defaults."""

    max_id_length: int = MAX_ID_LENGTH
    max_metadata_bytes: int = MAX_METADATA_BYTES
    max_depth: int = MAX_DEPTH


# What a record read back from a store is held to: no length or size (it passed the limits
# of the day it was written), and the deepest nesting any setting allows.
AS_STORED = Limits(sys.maxsize, sys.maxsize, DEEPEST)


def limits_of(info: ValidationInfo) -> Limits:
    """The limits a validation was given as its context (`{"limits": ...}`), else defaults."""
    context = info.context
    given = context.get("limits") if isinstance(context, Mapping) else None
    return given if isinstance(given, Limits) else Limits()


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # built once, not per call


def check_size(value: Any, max_bytes: int) -> None:
    """ValueError if `value` (checked JSON) is more than `max_bytes` as compact UTF-8 JSON."""
    if max_bytes >= sys.maxsize:
        return  # unlimited: not worth encoding
    size = len(_COMPACT.encode(value).encode("utf-8"))
    if size > max_bytes:
        raise ValueError(
            f"is {size:,} bytes of JSON, over the limit of {max_bytes:,} "
            "(LIKEWISE_MAX_METADATA_BYTES)"
        )
