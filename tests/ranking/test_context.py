"""Context rules: when they apply, what they boost and filter, and their validation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from likewise import ConfigError, Engine, InvalidInput, Settings
from likewise.ranking.context import ContextRule, applied, daypart, parse_rules, with_clock

ITEMS = [
    {"id": "long1", "title": "A long read about rockets", "category": "long"},
    {"id": "long2", "title": "Another long read about rockets", "category": "long"},
    {"id": "short1", "title": "Rockets in a minute", "category": "short"},
]


def test_rules_apply_on_every_when_key() -> None:
    rule = ContextRule({"device": "mobile", "locale": ["de", "fr"]})
    assert rule.applies({"device": "mobile", "locale": "fr", "extra": 1})
    assert not rule.applies({"device": "mobile", "locale": "en"})
    assert not rule.applies({"locale": "de"})


def test_clock_fills_daypart_and_weekday() -> None:
    moment = datetime(2026, 11, 25, 19, 30, tzinfo=UTC)  # a Wednesday evening
    assert with_clock({}, moment) == {"daypart": "evening", "weekday": "wed"}
    assert with_clock({"daypart": "night"}, moment)["daypart"] == "night"
    assert [daypart(h) for h in (6, 13, 18, 23, 2)] == [
        "morning",
        "afternoon",
        "evening",
        "night",
        "night",
    ]


def test_the_rules_that_apply_add_their_filters_and_give_their_boosts() -> None:
    rules = parse_rules(
        [
            {"when": {"device": "tv"}, "filter": {"category": "long"}},
            {"when": {"device": "tv"}, "boost": {"category": "short"}, "weight": 0.5},
            {"when": {"device": "tv"}, "boost": {"category": "x"}, "weight": 0},  # no weight
            {"when": {"device": "phone"}, "filter": {"category": "short"}},
        ]
    )
    where, boosts = applied(rules, {"device": "tv"}, {"lang": "en"})
    assert where == {"$and": [{"lang": "en"}, {"category": "long"}]}
    assert boosts == [({"category": "short"}, 0.5)]
    assert applied(rules, {"device": "tv"}, None)[0] == {"category": "long"}
    assert applied(rules, {"device": "radio"}, {"lang": "en"}) == ({"lang": "en"}, [])
    assert applied([], {"device": "tv"}, None) == (None, [])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param([{"boost": {}}], r"context_rules\[0\]: 'when'", id="no-when"),
        pytest.param([{"when": {}, "bost": {}}], "unknown keys", id="typo"),
        pytest.param([{"when": {}, "boost": {"p": {"gt": "x"}}}], r"\[0\]\.boost", id="filter"),
        pytest.param([{"when": {}, "weight": "high"}], "weight must be a number", id="weight"),
    ],
)
def test_bad_rules_are_named(raw: list[dict[str, object]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_rules(raw)


def test_rules_boost_and_filter_recommendations(tmp_path: Path) -> None:
    rules = [
        {"when": {"device": "mobile"}, "boost": {"category": "short"}, "weight": 2.0},
        {"when": {"device": "tv"}, "filter": {"category": "long"}},
    ]
    settings = Settings(context_rules=rules)
    with Engine.open(str(tmp_path / "d"), model="hashing-64", settings=settings) as engine:
        engine.add_items(ITEMS)
        engine.record("u1", "long1", "like")
        desktop = engine.recommend("u1", n=2, context={"device": "desktop"})
        mobile = engine.recommend("u1", n=2, context={"device": "mobile"})
        tv = engine.recommend("u1", n=2, context={"device": "tv"})
        assert desktop.items[0].id == "long2"
        assert mobile.items[0].id == "short1"
        assert [r.id for r in tv.items] == ["long2"]
        hybrid = engine.recommend("u1", n=1, strategy="hybrid", context={"device": "mobile"})
        assert hybrid.items[0].id == "short1"
    with pytest.raises(ConfigError, match="context_rules"):
        Engine.open(str(tmp_path / "d"), settings=Settings(context_rules=[{"x": 1}]))


MANY = [{"id": f"i{k}", "title": f"rockets part {k}", "category": "long"} for k in range(30)]


def test_exploration_is_seeded_and_marked(tmp_path: Path) -> None:
    settings = Settings(exploration=0.2)
    with Engine.open(str(tmp_path / "d"), model="hashing-64", settings=settings) as engine:
        engine.add_items(MANY)
        engine.record_many(
            [{"user_id": f"p{k}", "item_id": f"i{k}", "type": "like"} for k in range(20)]
        )
        engine.record("u1", "i0", "like")
        first = engine.recommend("u1", n=10)
        explored = [r for r in first.items if r.reason == "explore"]
        assert len(explored) == 2 and len(first.items) == 10
        assert len({r.id for r in first.items}) == 10 and "i0" not in {r.id for r in first.items}
        engine.personal.cache.touch_all()
        again = engine.recommend("u1", n=10)
        assert [r.id for r in again.items] == [r.id for r in first.items]  # same seed today


def test_items_shown_often_without_a_click_rest(tmp_path: Path) -> None:
    settings = Settings(rest_after=2)
    with Engine.open(str(tmp_path / "d"), model="hashing-64", settings=settings) as engine:
        engine.add_items(MANY)
        engine.record("u1", "i0", "like")
        first = [r.id for r in engine.recommend("u1", n=3).items]
        engine.tracker.impressions.flush()
        assert [r.id for r in engine.recommend("u1", n=3).items] == first
        engine.tracker.impressions.flush()
        third = [r.id for r in engine.recommend("u1", n=3).items]
        assert set(third).isdisjoint(first)  # shown twice, never clicked: resting


def test_freshness_fresh_source_and_category_caps(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    items = [
        {
            "id": "old",
            "title": "rockets rockets",
            "category": "a",
            "published_at": "2020-01-01T00:00:00+00:00",
        },
        {
            "id": "new",
            "title": "rockets rockets today",
            "category": "a",
            "published_at": now.isoformat(),
        },
        {"id": "b1", "title": "rockets and more", "category": "b", "published_at": now.isoformat()},
        {"id": "seed", "title": "rockets rockets", "category": "a"},
    ]
    plain = Settings(hybrid_weights={"content": 1.0})
    fresh = Settings(hybrid_weights={"content": 1.0}, freshness_half_life_days=30)
    capped = Settings(hybrid_weights={"content": 1.0}, category_cap=1)
    rotated = Settings(hybrid_weights={"content": 1.0}, category_rotation=True)
    only_fresh = Settings(hybrid_weights={"fresh": 1.0}, fresh_days=7)
    location = str(tmp_path / "d")
    with Engine.open(location, model="hashing-64") as engine:
        engine.add_items(items)
        engine.record("u1", "seed", "like")
    for settings, check in (
        (plain, lambda got: got[0] == "old"),
        (fresh, lambda got: got[0] == "new" and got.index("old") > got.index("new")),
        (capped, lambda got: got == ["old", "b1"]),
        (rotated, lambda got: got == ["old", "b1", "new"]),  # a, b, a: neighbours differ
        (only_fresh, lambda got: "old" not in got and set(got) == {"new", "b1"}),
    ):
        with Engine.open(location, settings=settings) as engine:
            got = [r.id for r in engine.recommend("u1", n=3, strategy="hybrid").items]
            assert check(got), (settings, got)


def _rockets_and_pasta(location: str) -> Engine:
    """Eight rocket items, four pasta ones, and u1 who liked rockets and glanced at pasta."""
    rows = [{"id": f"r{k}", "title": f"rockets rockets launch {k}"} for k in range(8)]
    rows += [{"id": f"p{k}", "title": f"pasta with tomato {k}"} for k in range(4)]
    engine = Engine.open(location, model="hashing-64")
    engine.add_items([*rows, {"id": "seed", "title": "rockets rockets launch"}])
    engine.record("u1", "seed", "like")
    engine.record("u1", "p0", "view")
    return engine


def test_diversity_varies_the_hybrid_list_with_either_method(tmp_path: Path) -> None:
    location = str(tmp_path / "d")
    _rockets_and_pasta(location).close()
    lists = {}
    for name, settings in (
        ("plain", Settings(hybrid_weights={"content": 1.0})),
        ("dpp", Settings(hybrid_weights={"content": 1.0}, diversity=0.8)),
        ("mmr", Settings(hybrid_weights={"content": 1.0}, diversity=0.8, diversity_method="mmr")),
    ):
        with Engine.open(location, settings=settings) as engine:
            lists[name] = [r.id for r in engine.recommend("u1", n=4, strategy="hybrid").items]
    pasta = {name: sum(i.startswith("p") for i in got) for name, got in lists.items()}
    assert pasta["dpp"] > pasta["plain"] and pasta["mmr"] > pasta["plain"], lists


def test_weights_and_diversity_per_request(tmp_path: Path) -> None:
    with _rockets_and_pasta(str(tmp_path / "d")) as engine:
        content = {"content": 1.0}
        plain = engine.recommend("u1", n=4, strategy="hybrid", weights=content)
        varied = engine.recommend("u1", n=4, strategy="hybrid", weights=content, diversity=0.8)
        pasta = [sum(r.id.startswith("p") for r in rec.items) for rec in (varied, plain)]
        assert pasta[0] > pasta[1]
        with pytest.raises(InvalidInput, match="unknown source 'cf'") as bad:
            engine.recommend("u1", n=4, weights={"cf": 1.0})
        assert bad.value.field == "weights"
        with pytest.raises(InvalidInput) as bad:
            engine.recommend("u1", n=4, weights={"content": -1})
        assert bad.value.field == "weights.content"
        with pytest.raises(InvalidInput) as bad:
            engine.recommend("u1", n=4, diversity=1.5)
        assert bad.value.field == "diversity"
