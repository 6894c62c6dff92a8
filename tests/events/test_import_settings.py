"""Import settings: the rating scale and what recording does with events on unknown items,
on both stores (a real SQLite file and a real PostgreSQL database)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from likewise import Engine, Settings
from likewise.config import ProfileConfig
from likewise.errors import ConfigError, InvalidInput, NotFound
from likewise.events import Event, SignalRules

ITEMS = [
    {"id": "a1", "title": "Rocket reaches the moon", "tags": ["space"]},
    {"id": "a2", "title": "Pasta with tomato", "tags": ["food"]},
]


def rating(value: float) -> Event:
    return Event(user_id="u1", item_id="a1", type="rating", value=value)


@pytest.fixture
def engine(location: str) -> Iterator[Engine]:
    with Engine.open(location, model="hashing-64") as eng:
        eng.add_items(ITEMS)
        yield eng


def events(*items: str, user: str = "u1", type: str = "like") -> list[dict[str, Any]]:
    return [{"user_id": user, "item_id": i, "type": type, "event_id": f"{user}-{i}"} for i in items]


# -- the rating scale -----------------------------------------------------------------------


def test_the_scale_bounds_ratings_and_the_message_names_it() -> None:
    assert SignalRules().signal(rating(5)) == 1.0
    with pytest.raises(InvalidInput, match="a rating value must be from 1 to 5") as caught:
        SignalRules().signal(rating(0.5))
    assert caught.value.field == "value"
    half = SignalRules(rating_min=0.5)
    assert [half.signal(rating(v)) for v in (0.5, 3.0, 4.5)] == [-1.0, 0.0, 1.0]
    ten = SignalRules(rating_min=0, rating_max=10, rating_like=8, rating_dislike=3)
    assert ten.signal(rating(9)) == 1.0
    with pytest.raises(InvalidInput, match="from 0 to 10"):
        ten.signal(rating(11))


def test_the_scale_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIKEWISE_RATING_MIN", "0.5")
    assert ProfileConfig().signal_rules().signal(rating(0.5)) == -1.0
    monkeypatch.setenv("LIKEWISE_RATING_MAX", "0.5")
    with pytest.raises(ConfigError, match=r"setting rating_min: must be below rating_max"):
        ProfileConfig()


@pytest.mark.parametrize(
    ("knobs", "named"),
    [
        pytest.param({"rating_min": 5}, "setting rating_min: must be below", id="min-max"),
        pytest.param({"rating_max": 0}, "setting rating_min: must be below", id="max-min"),
        pytest.param(
            {"rating_like": 2, "rating_dislike": 3}, "setting rating_dislike: must be below", id="t"
        ),
        pytest.param({"rating_like": 6}, "setting rating_like: must be within", id="like"),
        pytest.param({"rating_min": 2.5}, "setting rating_dislike: must be within", id="dislike"),
        pytest.param({"rating_min": "x"}, "setting rating_min:", id="number"),
    ],
)
def test_a_bad_scale_is_a_config_error_naming_the_knob(knobs: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings(**knobs)


def test_engine_imports_half_star_ratings(tmp_path: Any) -> None:
    with Engine.open(str(tmp_path / "d"), model="hashing-64") as engine:
        engine.add_items(ITEMS)
        with pytest.raises(InvalidInput, match="from 1 to 5") as caught:
            engine.record_many([*events("a1"), {**events("a2")[0], "type": "rating", "value": 0.5}])
        assert caught.value.field == "events[1].value" and engine.stats()["events"] == 0
    settings = Settings(rating_min=0.5)
    with Engine.open(str(tmp_path / "d"), model="hashing-64", settings=settings) as engine:
        report = engine.record_event(
            {"user_id": "u1", "item_id": "a2", "type": "rating", "value": 0.5}
        )
        assert report.accepted == 1 and engine.profile("u1")["negatives"] == 1


# -- unknown items --------------------------------------------------------------------------


def test_unknown_items_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ProfileConfig().unknown_items == "reject"
    monkeypatch.setenv("LIKEWISE_UNKNOWN_ITEMS", "skip")
    assert Settings().profiles.unknown_items == "skip"
    monkeypatch.setenv("LIKEWISE_UNKNOWN_ITEMS", "insert")
    with pytest.raises(ConfigError, match="setting unknown_items: Input should be 'reject'"):
        Settings()
    assert "unknown_items" not in ProfileConfig(unknown_items="create").profile_math()


def test_reject_is_the_default_and_stores_nothing(engine: Engine) -> None:
    with pytest.raises(NotFound, match="item 'zz' not found") as caught:
        engine.record_many(events("a1", "zz"))
    assert caught.value.field == "events[1].item_id"
    with pytest.raises(NotFound) as single:
        engine.record_event(events("zz")[0])
    assert single.value.field == "item_id"
    assert engine.stats()["events"] == 0 and engine.ids() == ["a1", "a2"]


def test_skip_leaves_out_and_counts(engine: Engine) -> None:
    report = engine.record_many(events("a1", "zz", "yy", "a2"), unknown_items="skip")
    assert report.as_dict() == {"accepted": 2, "duplicates": 0, "skipped": 2, "created": 0}
    assert sorted(engine.seen("u1")) == ["a1", "a2"] and engine.ids() == ["a1", "a2"]
    only = engine.record_event(events("zz", user="u2")[0], unknown_items="skip")
    assert only.as_dict() == {"accepted": 0, "duplicates": 0, "skipped": 1, "created": 0}
    assert engine.profile("u2")["events"] == 0
    # An invalid event still rejects the batch: skip is about unknown items only.
    with pytest.raises(InvalidInput) as caught:
        engine.record_many(events("zz") + events("a1", type="poke"), unknown_items="skip")
    assert caught.value.field == "events[1].type"


def test_the_call_overrides_the_setting(location: str) -> None:
    settings = Settings(unknown_items="skip")
    with Engine.open(location, model="hashing-64", settings=settings) as engine:
        engine.add_items(ITEMS)
        assert engine.record_many(events("zz")).skipped == 1
        with pytest.raises(NotFound, match="item 'zz' not found"):
            engine.record_many(events("zz"), unknown_items="reject")
        assert engine.record("u1", "yy", "like") is False  # skipped, as the setting says
        with pytest.raises(InvalidInput, match="must be one of reject, create, skip") as caught:
            engine.record_many(events("a1"), unknown_items="insert")
        assert caught.value.field == "unknown_items" and engine.stats()["events"] == 0
        assert [p for p, _ in engine.check_events([Event(**events("zz")[0])])] == []
        [(_, why)] = engine.check_events([Event(**events("zz")[0])], unknown_items="reject")
        assert why.field == "item_id"


def test_create_inserts_the_item_with_just_its_id(engine: Engine) -> None:
    engine.record("u1", "a1", "like")
    before = {h["id"]: h["score"] for h in engine.profile("u1")["nearest"]}
    report = engine.record_many(
        events("sku-9", "a2", user="u2") + events("sku-9"), unknown_items="create"
    )
    assert report.as_dict() == {"accepted": 3, "duplicates": 0, "skipped": 0, "created": 1}
    placeholder = engine.get("sku-9")
    assert placeholder.to_record() == {"id": "sku-9", "title": "", "body": "", "tags": []}
    assert sorted(engine.ids()) == ["a1", "a2", "sku-9"] and engine.stats()["events"] == 4
    # Its vector embeds the id (a placeholder does not get the empty text's vector) ...
    vector = engine.vectors(["sku-9"])["sku-9"]
    assert np.isclose(np.linalg.norm(vector), 1.0)
    assert engine.search("sku-9", n=1)[0].id == "sku-9"
    # ... and the events that created it move u1's profile as any later event on it would,
    # and as the replay of the log does (which reads the same vector).
    after = engine.profile("u1")
    assert after["positives"] == 2 and after["recent_positives"] == ["a1", "sku-9"]
    assert {h["id"]: h["score"] for h in after["nearest"] if h["id"] != "sku-9"} != before
    assert engine.popular(n=1)[0].id == "sku-9"  # its events count like any other
    # Content arrives later: the item is filled and embedded from it.
    new = engine.add_items([{"id": "sku-9", "title": "Moon rocket model kit", "tags": ["space"]}])
    assert (new.changed, new.embedded) == (1, 1)
    assert engine.similar("a1", n=1)[0].id == "sku-9"
    # Known now: a second batch creates nothing.
    again = engine.record_many(events("sku-9", user="u3"), unknown_items="create")
    assert (again.accepted, again.created) == (1, 0)


def test_create_writes_items_before_events_so_a_rerun_repairs(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash after the items are written and before the events: no event names a missing
    item, and the same call again records the events (creating nothing twice)."""
    batch = events("n1", "n2", "a1")

    def crash(*_: Any, **__: Any) -> list[bool]:
        raise RuntimeError("killed")

    with monkeypatch.context() as patch:
        patch.setattr(engine.personal.store, "record", crash)
        with pytest.raises(RuntimeError):
            engine.record_many(batch, unknown_items="create")
    assert sorted(engine.ids()) == ["a1", "a2", "n1", "n2"] and engine.stats()["events"] == 0
    report = engine.record_many(batch, unknown_items="create")
    assert (report.accepted, report.created) == (3, 0)
    assert sorted(engine.seen("u1")) == ["a1", "n1", "n2"]
    assert engine.record_many(batch, unknown_items="create").duplicates == 3


def test_create_with_a_bad_event_writes_no_item(engine: Engine) -> None:
    bad = [*events("n1"), {"user_id": "u1", "item_id": "n2", "type": "rating", "value": 9}]
    with pytest.raises(InvalidInput, match="from 1 to 5") as caught:
        engine.record_many(bad, unknown_items="create")
    assert caught.value.field == "events[1].value"
    assert engine.ids() == ["a1", "a2"] and engine.stats()["events"] == 0
