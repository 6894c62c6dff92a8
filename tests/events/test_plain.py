"""`parse_event`'s plain path (no pydantic for the common record) agrees with pydantic on
every record: the same Event, field for field and type for type, or the same refusal."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from likewise.errors import InvalidInput
from likewise.events import Event, parse_event
from likewise.events.model import _plain
from likewise.items.limits import Limits
from likewise.items.model import validate_record

LIMITS = Limits(max_id_length=8)
_ids = st.one_of(
    st.sampled_from(["u1", "a b", " ", "", "x" * 8, "x" * 9, "é", "a\nb", "a\u200bb", "\ud800"]),
    st.text(max_size=10),
    st.integers(),
    st.none(),
)
_numbers = st.one_of(
    st.integers(-(2**1100), 2**1100),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([True, 0, 1e12, 2.6e11, -6.3e10, "12", "2024-01-01"]),
    st.none(),
)
_fields = {
    "user_id": _ids,
    "item_id": _ids,
    "event_id": _ids,
    "type": st.one_of(st.sampled_from(["view", "", "x" * 64, "x" * 65, "vïew"]), _ids),
    "timestamp": _numbers,
    "value": _numbers,
    "context": st.just({"page": 1}),
    "colour": st.just("red"),
}


def _outcome(parse: Any, record: dict[str, Any]) -> tuple[Any, ...]:
    try:
        event = parse(record)
    except InvalidInput as exc:
        return ("refused", exc.field)
    fields = {k: (v, type(v)) for k, v in event.__dict__.items() if k != "timestamp"}
    return ("event", fields, type(event.timestamp), event.model_fields_set)


@given(st.fixed_dictionaries({}, optional=_fields))
def test_the_plain_path_is_pydantic(record: dict[str, Any]) -> None:
    record.setdefault("timestamp", 1_700_000_000)  # the default is the clock: not compared
    plain = _outcome(lambda r: parse_event(r, limits=LIMITS), record)
    full = _outcome(lambda r: validate_record(Event, r, limits=LIMITS), record)
    assert plain == full


@pytest.mark.parametrize(
    "record",
    [
        pytest.param({"user_id": "u1", "item_id": "a1", "type": "view"}, id="no-time"),
        pytest.param(
            {"user_id": "u1", "item_id": "a1", "type": "rating", "value": 4, "timestamp": 7},
            id="ints",
        ),
        pytest.param(
            {"user_id": "u1", "item_id": "a1", "type": "view", "event_id": None}, id="none-id"
        ),
    ],
)
def test_plain_records_take_the_plain_path(record: dict[str, Any]) -> None:
    event = _plain(record, Limits())
    assert event is not None and type(event.timestamp) is float
    assert _outcome(lambda r: event, record) == _outcome(
        lambda r: validate_record(Event, r), record
    )
