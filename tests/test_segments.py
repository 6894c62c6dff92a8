"""Users' properties and segments through the Engine, on the embedded store and PostgreSQL:
the round trip, refusals by field, who is in a segment, a segment-targeted boost, an
experiment restricted to a segment, the per-segment report, forget and copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from likewise import Engine
from likewise.config import Settings
from likewise.copy import copy_store
from likewise.errors import ConfigError, InvalidInput, NotFound
from likewise.items.limits import Limits
from likewise.ranking.context import parse_rules

CATALOG = [
    {"id": f"i{k:02d}", "title": f"moon rocket story {k}", "category": "b" if k % 3 else "a"}
    for k in range(30)
]
BOOST = [{"when": {"segment": "premium"}, "boost": {"category": "a"}, "weight": 5.0}]


def test_properties_round_trip_merge_and_replace(location: str) -> None:
    with Engine.open(location, model="hashing-64") as engine:
        assert engine.user_properties("u1") == {}
        given = {"country": "DE", "plan": "premium", "age": 34, "trial": False, "score": 1.5}
        assert engine.set_user_properties("u1", given) == given
        # Merged: a new key added, a null removes one, the rest kept.
        merged = engine.set_user_properties("u1", {"plan": "free", "score": None, "band": "30s"})
        assert merged == {"country": "DE", "plan": "free", "age": 34, "trial": False, "band": "30s"}
        assert engine.set_user_properties("u1", {"plan": "gold"}, replace=True) == {"plan": "gold"}
        loaded = engine.set_many_user_properties(
            [{"id": "u2", "properties": {"plan": "free"}}, {"id": "u3", "properties": {}}]
        )
        assert loaded == 2 and engine.user_properties("u2") == {"plan": "free"}
    with Engine.open(location) as engine:  # kept, as stored, after a reopen
        assert engine.user_properties("u1") == {"plan": "gold"}
        assert type(engine.user_properties("u2")["plan"]) is str


@pytest.mark.parametrize(
    ("props", "field"),
    [
        pytest.param(["plan"], "properties", id="not-an-object"),
        pytest.param({"plan": {"tier": 1}}, "properties.plan", id="nested"),
        pytest.param({"tags": ["a"]}, "properties.tags", id="list"),
        pytest.param({"$or": 1}, "properties.$or", id="operator-key"),
        pytest.param({"": 1}, "properties.", id="empty-key"),
        pytest.param({"n": float("nan")}, "properties.n", id="nan"),
        pytest.param({"n": 10**400}, "properties.n", id="no-float-holds-it"),
        pytest.param({"s": "\ud800"}, "properties.s", id="lone-surrogate"),
        pytest.param({"s": "x" * 70_000}, "properties", id="too-large"),
    ],
)
def test_bad_properties_are_refused_by_field_and_change_nothing(
    engine: Engine, props: Any, field: str
) -> None:
    engine.set_user_properties("u1", {"plan": "free"})
    with pytest.raises(InvalidInput) as caught:
        engine.set_user_properties("u1", props)
    assert caught.value.field == field
    assert engine.user_properties("u1") == {"plan": "free"}


def test_a_bulk_load_is_refused_whole_naming_the_record(engine: Engine) -> None:
    records: list[Any] = [
        {"id": "u1", "properties": {"plan": "free"}},
        {"id": "u2", "properties": {"age": [1]}},
    ]
    for bad, field in (
        (records, "users[1].properties.age"),
        ([{"id": "", "properties": {}}], "users[0].id"),
        ([{"id": "u1", "props": {}}], "users[0].props"),
        (["u1"], "users[0]"),
    ):
        with pytest.raises(InvalidInput) as caught:
            engine.set_many_user_properties(bad)
        assert caught.value.field == field
    assert engine.user_properties("u1") == {}  # the good first record was not written
    with pytest.raises(InvalidInput) as caught:
        engine.set_user_properties("x" * 300, {"plan": "free"})
    assert caught.value.field == "user_id"


def test_the_limits_are_the_settings(tmp_path: Path) -> None:
    settings = Settings(max_metadata_bytes=64, max_depth=1)
    with Engine.open(str(tmp_path / "d"), model="hashing-64", settings=settings) as engine:
        assert engine.limits == Limits(
            max_id_length=engine.limits.max_id_length, max_metadata_bytes=64, max_depth=1
        )
        with pytest.raises(InvalidInput, match="LIKEWISE_MAX_METADATA_BYTES") as caught:
            engine.set_user_properties("u1", {"bio": "x" * 80})
        assert caught.value.field == "properties"


def test_a_segments_users_follow_their_current_properties(location: str) -> None:
    with Engine.open(location, model="hashing-64") as engine:
        engine.set_many_user_properties(
            [
                {"id": f"u{k:02d}", "properties": {"country": c, "plan": p, "age": 20 + k}}
                for k, (c, p) in enumerate(
                    [("DE", "premium"), ("AT", "premium"), ("FR", "premium"), ("DE", "free")] * 3
                )
            ]
        )
        where = {"plan": "premium", "country": {"in": ["DE", "AT"]}}
        assert engine.create_segment("dach-premium", where)["created"] is True
        engine.create_segment("older", {"age": {"gte": 29}})
        assert list(engine.segment_users("dach-premium", batch=2)) == [
            "u00", "u01", "u04", "u05", "u08", "u09"
        ]  # fmt: skip
        assert list(engine.segment_users("older")) == ["u09", "u10", "u11"]
        engine.set_user_properties("u00", {"country": "FR"})  # moves out at once
        assert "u00" not in set(engine.segment_users("dach-premium"))
        assert engine.user_segments("u09") == ["dach-premium", "older"]
        assert engine.user_segments("nobody") == []
        # Replacing a segment keeps one of the name; deleting it forgets it.
        assert engine.create_segment("older", {"age": {"gte": 31}})["created"] is False
        assert list(engine.segment_users("older")) == ["u11"]
        assert [s["name"] for s in engine.list_segments()] == ["dach-premium", "older"]
        engine.delete_segment("older")
        with pytest.raises(NotFound):
            list(engine.segment_users("older"))
        with pytest.raises(NotFound):
            engine.delete_segment("older")


@pytest.mark.parametrize(
    ("name", "where", "field"),
    [
        pytest.param("Bad Name", {"plan": "x"}, "name", id="name"),
        pytest.param("ok", {"plan": {"gte": "soon"}}, "where.plan.gte", id="range"),
        pytest.param("ok", {"$xor": []}, "where.$xor", id="operator"),
        pytest.param("ok", None, "where", id="none"),
        pytest.param("ok", [1], "where", id="list"),
    ],
)
def test_a_bad_segment_is_refused_by_field(
    engine: Engine, name: str, where: Any, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        engine.create_segment(name, where)
    assert caught.value.field == field
    assert engine.list_segments() == []


@pytest.mark.parametrize("segment", [3, "", ["premium", None], {"a": 1}])
def test_a_rule_names_a_segment_by_name(segment: Any) -> None:
    with pytest.raises(ConfigError, match=r"context_rules\[0\]\.when\.segment"):
        parse_rules([{"when": {"segment": segment}, "boost": {"a": 1}, "weight": 1}])
    rule = parse_rules([{"when": {"segment": ["a", "b"], "device": "mobile"}}])[0]
    assert rule.applies({"segment": ["b"], "device": "mobile"})
    assert not rule.applies({"segment": ["b"], "device": "tv"})
    assert not rule.applies({"segment": "b", "device": "mobile"})  # only the engine's list


def _lists(engine: Engine, users: list[str]) -> dict[str, list[str]]:
    return {u: [r.id for r in engine.recommend(u, n=8, track=False).items] for u in users}


def test_a_segment_targeted_boost_changes_only_that_segments_lists(location: str) -> None:
    users = ["p1", "p2", "f1", "f2", "none"]
    with Engine.open(location, model="hashing-64") as engine:
        engine.add_items(CATALOG)
        for k, user in enumerate(users):
            engine.record(user, f"i{k * 3 + 1:02d}", "like")  # a "b" item each
        engine.set_many_user_properties(
            [{"id": u, "properties": {"plan": "premium" if u[0] == "p" else "free"}} for u in users]
        )
        engine.set_user_properties("none", {}, replace=True)
        engine.create_segment("premium", {"plan": "premium"})
        before = _lists(engine, users)
    settings = Settings(context_rules=BOOST)
    with Engine.open(location, settings=settings) as engine:
        after = _lists(engine, users)
        # A request cannot claim a segment: the engine puts the user's own in the context.
        claimed = engine.recommend("f1", n=8, track=False, context={"segment": ["premium"]})
        assert [r.id for r in claimed.items] == before["f1"]
        # A session's list: by the segments of its user_id, never by its context's claim.
        claim = {"segment": ["premium"]}
        plain = [r.id for r in engine.recommend_from(["i01"], n=8).items]
        claimed_session = engine.recommend_from(["i01"], n=8, context=claim)
        assert [r.id for r in claimed_session.items] == plain
        as_p1 = [r.id for r in engine.recommend_from(["i01"], n=8, user_id="p1").items]
        assert _boosted(as_p1) and _a(as_p1) > _a(plain)
        engine.set_user_properties("f2", {"plan": "premium"})  # joins: boosted at once
        joined = [r.id for r in engine.recommend("f2", n=8, track=False).items]
    for user in ("f1", "none"):
        assert after[user] == before[user]
    for user in ("p1", "p2"):  # every boosted "a" item above every "b" one, and more of them
        assert after[user] != before[user]
        assert _boosted(after[user]) and _a(after[user]) > _a(before[user])
    assert joined != before["f2"] and _boosted(joined) and _a(joined) > _a(before["f2"])


def _a(ids: list[str]) -> int:
    return sum(int(i[1:]) % 3 == 0 for i in ids)


def _boosted(ids: list[str]) -> bool:
    """No "b" item ranked above an "a" item."""
    kinds = [int(i[1:]) % 3 == 0 for i in ids]
    return kinds == sorted(kinds, reverse=True)


def test_an_experiment_restricted_to_a_segment_buckets_only_its_users(location: str) -> None:
    with Engine.open(location, model="hashing-64") as engine:
        engine.add_items(CATALOG[:10])
        users = [f"u{k:02d}" for k in range(16)]
        engine.set_many_user_properties(
            [{"id": u, "properties": {"plan": "premium" if k % 2 else "free"}} for k, u in
             enumerate(users)]
        )  # fmt: skip
        engine.create_segment("premium", {"plan": "premium"})
        with pytest.raises(NotFound) as caught:
            engine.create_experiment("x", ["a:strategy=ema", "b:strategy=mean"], segment="gold")
        assert caught.value.field == "segment" and engine.list_experiments() == []
        experiment = engine.create_experiment(
            "x", ["a:strategy=ema", "b:strategy=mean"], segment="premium"
        )
        assert experiment.segment == "premium" and experiment.as_dict()["segment"] == "premium"
        variants = {u: engine.recommend(u, n=3).variant for u in users}
        inside = {u for u in users if int(u[1:]) % 2}
        assert {u for u, v in variants.items() if v is not None} == inside
        assert {variants[u] for u in inside} == {"x:a", "x:b"}  # 8 users: both arms drawn
        report = engine.experiment_report("x")
        assert sum(r["impressions"] for r in report["variants"]) == len(inside)
        assert engine.list_experiments()[0].segment == "premium"  # kept in the store


def _log(engine: Engine, user: str, shown: int, clicked: int, bought: int = 0) -> None:
    """`shown` lists of strategy `s` to `user`, the first `clicked` of them clicked and the
    first `bought` of those bought from."""
    for k in range(shown):
        rec = engine.track(user, "s", ["i00"])
        if k < clicked:
            engine.record(user, "i00", "click", recommendation_id=rec)
        if k < bought:
            engine.record(user, "i00", "purchase", recommendation_id=rec)


def test_the_report_per_segment_has_the_known_rates(location: str) -> None:
    with Engine.open(location, model="hashing-64") as engine:
        engine.add_items(CATALOG[:2])
        engine.set_many_user_properties(
            [
                {"id": "de-premium", "properties": {"country": "DE", "plan": "premium"}},
                {"id": "de-free", "properties": {"country": "DE", "plan": "free"}},
                {"id": "fr-premium", "properties": {"country": "FR", "plan": "premium"}},
                {"id": "fr-free", "properties": {"country": "FR", "plan": "free"}},
            ]
        )
        engine.create_segment("de", {"country": "DE"})
        engine.create_segment("premium", {"plan": "premium"})
        _log(engine, "de-premium", 4, 3, 1)  # in both segments: counted in each
        _log(engine, "de-free", 6, 1)
        _log(engine, "fr-premium", 10, 2, 2)
        _log(engine, "fr-free", 5, 5)  # in no segment: in no row
        _log(engine, "stranger", 3, 3)  # no properties at all: in no row
        engine.track("de-free", "other", ["i01"])
        rows = {r.group: r.as_dict() for r in engine.ctr_report(group_by="segment")}
        assert set(rows) == {"de", "premium"}
        assert (rows["de"]["impressions"], rows["de"]["clicks"]) == (11, 4)
        assert (rows["premium"]["impressions"], rows["premium"]["clicks"]) == (14, 5)
        assert rows["premium"]["ctr"] == pytest.approx(5 / 14)
        assert rows["premium"]["conversions"] == 3 and rows["de"]["conversions"] == 1
        split = {r.group: r.impressions for r in engine.ctr_report(group_by="segment,strategy")}
        assert split == {"de other": 1, "de s": 10, "premium s": 14}
        # Evaluated over the properties as they are now.
        engine.set_user_properties("fr-free", {"plan": "premium"})
        now = {r.group: (r.impressions, r.clicks) for r in engine.ctr_report(group_by="segment")}
        assert now["premium"] == (19, 10)
        with pytest.raises(InvalidInput) as caught:
            engine.ctr_report(group_by="country")
        assert caught.value.field == "group_by"


def test_a_forget_deletes_the_properties_and_leaves_no_trace(tmp_path: Path) -> None:
    who = "zq-segment-user-9c1e@example.com"
    data = tmp_path / "data"
    with Engine.open(str(data), model="hashing-64") as engine:
        engine.add_items(CATALOG[:3])
        engine.set_user_properties(who, {"email": who, "plan": "premium"})
        engine.create_segment("premium", {"plan": "premium"})
        assert list(engine.segment_users("premium")) == [who]
        assert engine.forget_user(who)["user_properties"] == 1
        assert engine.user_properties(who) == {} and list(engine.segment_users("premium")) == []
    found = [p.name for p in data.rglob("*") if p.is_file() and who.encode() in p.read_bytes()]
    assert found == []


def test_a_forget_deletes_the_properties_on_either_backend(location: str) -> None:
    with Engine.open(location, model="hashing-64") as engine:
        engine.set_many_user_properties(
            [{"id": u, "properties": {"plan": "premium"}} for u in ("u1", "u2")]
        )
        engine.create_segment("premium", {"plan": "premium"})
        assert engine.forget_user("u1")["user_properties"] == 1
        assert engine.forget_user("u1")["user_properties"] == 0
        assert engine.user_properties("u1") == {} and engine.user_segments("u1") == []
        assert list(engine.segment_users("premium")) == ["u2"]  # the others' are kept


def test_deleting_a_users_events_keeps_their_properties(engine: Engine) -> None:
    engine.add_items(CATALOG[:2])
    engine.record("u1", "i00", "like")
    engine.set_user_properties("u1", {"plan": "free"})
    engine.delete_user_events("u1")
    assert engine.user_properties("u1") == {"plan": "free"}


def test_copy_carries_properties_and_segments(tmp_path: Path, pg_url: str) -> None:
    src = str(tmp_path / "src")
    with Engine.open(src, model="hashing-64") as engine:
        engine.add_items(CATALOG[:3])
        engine.set_many_user_properties(
            [{"id": f"u{k}", "properties": {"plan": "premium", "n": k}} for k in range(3)]
        )
        engine.create_segment("premium", {"plan": "premium", "n": {"gte": 1}})
    report = copy_store(src, pg_url)
    assert report.counts["user_properties"] == 3 and report.counts["segments"] == 1
    with Engine.open(pg_url) as engine:
        assert engine.user_properties("u2") == {"plan": "premium", "n": 2}
        assert engine.list_segments() == [
            {"name": "premium", "where": {"plan": "premium", "n": {"gte": 1}}}
        ]
        assert list(engine.segment_users("premium")) == ["u1", "u2"]


def test_a_users_segments_are_read_once_and_kept_while_their_version_holds(
    tmp_path: Path,
) -> None:
    """One store read for the first list; none for the next while nothing changed; read
    again after their properties or any segment change (through this engine or another)."""
    location = str(tmp_path / "d")
    with Engine.open(
        location, model="hashing-64", settings=Settings(context_rules=BOOST)
    ) as engine:
        engine.add_items(CATALOG)
        engine.set_user_properties("u1", {"plan": "premium"})
        engine.create_segment("premium", {"plan": "premium"})
        reads: list[str] = []
        inputs = engine.store.segment_inputs

        def counted(user_id: str) -> Any:
            reads.append(user_id)
            return inputs(user_id)

        engine.store.segment_inputs = counted  # type: ignore[method-assign]
        for _ in range(3):
            engine.recommend("u1", n=3, track=False)
        assert reads == ["u1"]
        assert engine.user_segments("u1") == ["premium"] and reads == ["u1"]
        engine.set_user_properties("u1", {"plan": "free"})
        assert engine.user_segments("u1") == [] and reads == ["u1", "u1"]
        engine.create_segment("free", {"plan": "free"})
        assert engine.user_segments("u1") == ["free"] and len(reads) == 3
        engine.recommend("u2", n=3, track=False)  # a user never seen: read
        assert reads[-1] == "u2"
