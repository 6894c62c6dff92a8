"""The Event: a user did something to an item, at a time, in a context."""

from __future__ import annotations

import json
import math
import re
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from likewise.errors import InvalidInput
from likewise.items.limits import MAX_ID_LENGTH, Limits, check_size, limits_of
from likewise.items.model import check_id, validate_record

__all__ = ["RECOMMENDATION_ID", "Event", "check_user_id", "parse_event", "to_epoch"]


# What `recommend`, `track` and the tracked reads return (`new_id`): a made-up id would be
# stored and attribute nothing, so it is refused instead.
RECOMMENDATION_ID = re.compile(r"[0-9a-f]{32}")
FIRST_MOMENT = -62_135_596_800.0  # 0001-01-01T00:00:00Z: events fall within years 1-9999
LAST_MOMENT = 253_402_300_800.0  # 10000-01-01T00:00:00Z


class Event(BaseModel):
    """One thing a user did. Appended to the log, never rewritten.

    `timestamp` is seconds since the epoch (a number or an ISO-8601 string; naive times are
    UTC; default now). A resend with the same `event_id` is a no-op.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str = Field(min_length=1)
    item_id: str = Field(min_length=1)
    type: str = Field(min_length=1, max_length=64)
    value: float | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    timestamp: float = Field(default_factory=time.time)
    event_id: str | None = Field(None, min_length=1)
    recommendation_id: str | None = Field(None, min_length=1, max_length=32)

    @field_validator("user_id", "item_id", "event_id", "recommendation_id")
    @classmethod
    def _ids(cls, value: str | None, info: ValidationInfo) -> str | None:
        return value if value is None else check_id(value, limits_of(info).max_id_length)

    @field_validator("value", "timestamp", mode="before")
    @classmethod
    def _not_a_flag(cls, value: Any) -> Any:
        # pydantic would read `true` as 1.0: a flag where a number belongs is a mistake
        if isinstance(value, bool):
            raise ValueError("must be a number, not true or false")
        return value

    @field_validator("value", "timestamp", mode="after")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("timestamp", mode="after")
    @classmethod
    def _in_calendar(cls, value: float) -> float:
        # The reports group by UTC day: a time outside years 1 to 9999 has none.
        if not FIRST_MOMENT <= value < LAST_MOMENT:
            raise ValueError("must be a time within years 1 to 9999 (seconds since the epoch)")
        return value

    @field_validator("recommendation_id", mode="after")
    @classmethod
    def _issued(cls, value: str | None) -> str | None:
        if value is not None and not RECOMMENDATION_ID.fullmatch(value):
            raise ValueError(
                "must be a recommendation_id likewise returned with a list (32 hex digits)"
            )
        return value

    @field_validator("timestamp", mode="before")
    @classmethod
    def _parse_time(cls, value: Any) -> Any:
        return to_epoch(value) if isinstance(value, str | datetime) else value

    @field_validator("context", mode="after")
    @classmethod
    def _context_json(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"must be JSON: {exc}") from None
        check_size(value, limits_of(info).max_metadata_bytes)  # kept with every event
        return value


def to_epoch(value: str | datetime) -> float:
    """Seconds since the epoch from a number in a string, an ISO-8601 time (naive is UTC)
    or a datetime; ValueError otherwise."""
    if isinstance(value, datetime):
        return _epoch(value)
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return _epoch(datetime.fromisoformat(value))
    except ValueError:
        raise ValueError("must be seconds since the epoch or an ISO-8601 time") from None


def check_user_id(user_id: object, max_length: int = MAX_ID_LENGTH) -> str:
    """A valid user id, or InvalidInput naming `user_id` (the rules events apply)."""
    if not isinstance(user_id, str) or not user_id:
        raise InvalidInput("must be a non-empty string", field="user_id")
    try:
        return check_id(user_id, max_length)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="user_id") from None


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_event(data: Any, *, line: int | None = None, limits: Limits | None = None) -> Event:
    """Validate one record into an Event within `limits` (default: `Limits()`), or raise
    InvalidInput naming the field and reason."""
    plain = _plain(data, limits or _DEFAULT)
    if plain is not None:
        return plain
    return validate_record(Event, data, line=line, limits=limits)


_DEFAULT = Limits()
_PLAIN = frozenset(("user_id", "item_id", "type", "timestamp", "event_id", "value"))


def _plain(data: Any, limits: Limits) -> Event | None:
    """The Event pydantic would make of a plain record (a dict of ASCII ids, a type, numbers
    and no context), checked here by the same rules, or None to let pydantic judge it.

    Recording in batches spent most of its time outside the store validating records; the
    common record needs none of pydantic's machinery, and anything unusual (a context, a
    time as text, a number that is not finite, an id that breaks a rule) takes the full
    path, which also words the error. `tests/events/test_plain.py` checks both paths agree.
    """
    if type(data) is not dict or not data.keys() <= _PLAIN:
        return None
    user, item, kind = data.get("user_id"), data.get("item_id"), data.get("type")
    event_id, longest = data.get("event_id"), limits.max_id_length
    if not (_fine_id(user, longest) and _fine_id(item, longest)):
        return None
    if event_id is not None and not _fine_id(event_id, longest):
        return None
    if type(kind) is not str or not 0 < len(kind) <= 64 or not kind.isascii():
        return None
    value = data.get("value")
    if value is not None and (value := _number(value)) is None:
        return None
    at = _number(data["timestamp"]) if "timestamp" in data else time.time()
    if at is None or not FIRST_MOMENT <= at < LAST_MOMENT:
        return None
    fields: dict[str, Any] = {
        "user_id": user,
        "item_id": item,
        "type": kind,
        "value": value,
        "context": {},
        "timestamp": at,
        "event_id": event_id,
        "recommendation_id": None,
    }
    # What `model_construct` does, without its look at each field's default.
    event = Event.__new__(Event)
    _set(event, "__dict__", fields)
    _set(event, "__pydantic_fields_set__", set(data))
    _set(event, "__pydantic_extra__", None)
    _set(event, "__pydantic_private__", None)
    return event


_set = object.__setattr__


def _number(number: Any) -> float | None:
    """A finite int or float as a float (not a flag, not a numpy scalar), else None."""
    if type(number) is not float and type(number) is not int:
        return None
    try:
        value = float(number)
    except OverflowError:  # an int beyond a float's range
        return None
    return value if math.isfinite(value) else None


def _fine_id(value: Any, longest: int) -> bool:
    """An ASCII string that `check_id` accepts (ASCII holds no lone surrogate)."""
    if type(value) is not str or not value.isascii():
        return False
    try:
        check_id(value, longest)
    except ValueError:
        return False
    return True
