"""Events: validation naming the field, the signal mapping, and event files with lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from likewise.errors import ConfigError, InvalidInput
from likewise.events import Event, SignalRules, load_events, parse_event

RULES = SignalRules()


def ev(**fields: Any) -> Event:
    return parse_event({"user_id": "u1", "item_id": "a1", "type": "view", **fields})


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"user_id": " "}, "user_id", id="blank-user"),
        pytest.param({"user_id": "a\nb"}, "user_id", id="control-char"),
        pytest.param({"user_id": 7}, "user_id", id="number-user"),
        pytest.param({"item_id": ""}, "item_id", id="empty-item"),
        pytest.param({"value": "high"}, "value", id="text-value"),
        pytest.param({"value": float("nan")}, "value", id="nan-value"),
        pytest.param({"timestamp": "yesterday"}, "timestamp", id="bad-time"),
        pytest.param({"context": {"x": float("inf")}}, "context", id="context-not-json"),
        pytest.param({"colour": "red"}, "colour", id="unknown-field"),
    ],
)
def test_bad_events_name_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        ev(**fields)
    assert caught.value.field == field


def test_timestamps_accept_numbers_and_iso_times() -> None:
    assert ev(timestamp="2026-01-01T00:00:00Z").timestamp == 1767225600.0
    assert ev(timestamp="2026-01-01T00:00:00").timestamp == 1767225600.0  # naive is UTC
    assert ev(timestamp="1767225600").timestamp == 1767225600.0
    assert ev().timestamp > 1767225600.0  # default: now


@pytest.mark.parametrize(
    ("type", "value", "signal"),
    [
        pytest.param("view", None, 0.5, id="view"),
        pytest.param("click", None, 1.0, id="click"),
        pytest.param("like", None, 1.0, id="like"),
        pytest.param("purchase", None, 1.0, id="purchase"),
        pytest.param("dislike", None, -1.0, id="dislike"),
        pytest.param("skip", None, -0.5, id="skip-weak-dislike"),
        pytest.param("dwell", 45, 1.0, id="long-dwell"),
        pytest.param("dwell", 5, 0.0, id="short-dwell"),
        pytest.param("rating", 5, 1.0, id="rating-5"),
        pytest.param("rating", 4, 1.0, id="rating-4"),
        pytest.param("rating", 3, 0.0, id="rating-3"),
        pytest.param("rating", 2, -1.0, id="rating-2"),
    ],
)
def test_default_signals(type: str, value: float | None, signal: float) -> None:
    assert RULES.signal(ev(type=type, value=value)) == signal


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"type": "teleport"}, "type", id="unknown-type"),
        pytest.param({"type": "rating"}, "value", id="rating-without-value"),
        pytest.param({"type": "rating", "value": 6}, "value", id="rating-above-5"),
        pytest.param({"type": "dwell", "value": -1}, "value", id="negative-dwell"),
    ],
)
def test_signal_errors_name_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        RULES.signal(ev(**fields))
    assert caught.value.field == field


def test_custom_signal_rules() -> None:
    rules = SignalRules({"share": 1.0, "view": 0.0}, dwell_seconds=10, rating_like=5)
    assert rules.signal(ev(type="share")) == 1.0
    assert rules.signal(ev(type="view")) == 0.0
    assert rules.signal(ev(type="dwell", value=12)) == 1.0
    assert rules.signal(ev(type="rating", value=4)) == 0.0
    with pytest.raises(InvalidInput, match="unknown event type 'click'"):
        rules.signal(ev(type="click"))
    with pytest.raises(ConfigError, match="within"):
        SignalRules({"share": 2.0})
    with pytest.raises(ConfigError, match="rating_dislike"):
        SignalRules(rating_like=2, rating_dislike=3)


def test_event_files_report_each_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "user_id,item_id,type,value,timestamp,device\n"
        "u1,a1,rating,5,2026-01-01T00:00:00,mobile\n"
        "u1,,click,,,\n"
        "u2,a2,view,,,desktop\n"
    )
    loaded = load_events(path)
    assert [(e.user_id, e.item_id, e.value) for e in loaded.events] == [
        ("u1", "a1", 5.0),
        ("u2", "a2", None),
    ]
    assert loaded.events[0].context == {"device": "mobile"}
    assert [(err.line, err.field) for err in loaded.errors] == [(3, "item_id")]
    jsonl = tmp_path / "events.jsonl"
    jsonl.write_text('{"user_id": "u1", "item_id": "a1", "type": "like"}\nnot json\n')
    loaded = load_events(jsonl)
    assert len(loaded.events) == 1 and loaded.errors[0].line == 2
