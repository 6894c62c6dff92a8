"""A/B experiments: pure bucketing and statistics, then the engine's experiment lifecycle."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from likewise.engine import Engine
from likewise.errors import Conflict, InvalidInput, NotFound
from likewise.tracking.experiments import (
    Experiment,
    Variant,
    bucket,
    parse_split,
    parse_variant,
    report,
    two_proportions,
)

ARMS = (Variant("a", 1.0, "ema"), Variant("b", 1.0, "hybrid", diversity=0.3))


@given(
    user=st.text(min_size=1, max_size=40),
    name=st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True),
)
def test_a_user_always_lands_in_the_same_variant(user: str, name: str) -> None:
    first = bucket(name, user, ARMS)
    assert all(bucket(name, user, ARMS) == first for _ in range(3))
    # the variant depends on the user and the experiment only, not on the order of the calls
    assert bucket(name, user, tuple(ARMS)) == first


@pytest.mark.parametrize("weights", [(50, 50), (90, 10), (1, 2, 7)])
def test_splits_match_their_weights_within_sampling_error(weights: tuple[int, ...]) -> None:
    arms = tuple(Variant(f"v{k}", w, "ema") for k, w in enumerate(weights))
    n = 100_000
    counts = Counter(bucket("homepage", f"user-{k}", arms).name for k in range(n))
    total = sum(weights)
    for k, w in enumerate(weights):
        p = w / total
        sd = math.sqrt(n * p * (1 - p))
        assert abs(counts[f"v{k}"] - n * p) < 4 * sd  # 4 sigma: a real bias fails, luck never


def test_two_experiments_bucket_independently() -> None:
    users = [f"u{k}" for k in range(20_000)]
    a = [bucket("one", u, ARMS).name for u in users]
    b = [bucket("two", u, ARMS).name for u in users]
    same = sum(x == y for x, y in zip(a, b, strict=True)) / len(users)
    assert abs(same - 0.5) < 0.02


def test_two_proportion_test_known_values() -> None:
    z, p = two_proportions(100, 1000, 150, 1000)  # 10% against 15%
    # pooled 0.125, se = sqrt(0.125 * 0.875 * 2 / 1000) = 0.01479, z = 0.05 / se
    assert z == pytest.approx(3.3806, abs=1e-3) and p == pytest.approx(0.000723, abs=1e-5)
    assert two_proportions(10, 100, 10, 100) == (0.0, 1.0)
    assert two_proportions(0, 0, 3, 10) == (0.0, 1.0)


@given(n1=st.integers(1, 5000), n2=st.integers(1, 5000), f1=st.floats(0, 1), f2=st.floats(0, 1))
def test_two_proportion_p_value_is_a_probability_and_symmetric(
    n1: int, n2: int, f1: float, f2: float
) -> None:
    c1, c2 = round(f1 * n1), round(f2 * n2)
    z, p = two_proportions(c1, n1, c2, n2)
    z2, p2 = two_proportions(c2, n2, c1, n1)
    assert 0.0 <= p <= 1.0 and p == pytest.approx(p2) and z == pytest.approx(-z2)


def test_variants_and_splits_parse_or_name_the_field() -> None:
    v = parse_variant('b:strategy=hybrid,diversity=0.3,weights={"content":1,"popular":0.5}')
    assert (v.name, v.strategy, v.diversity) == ("b", "hybrid", 0.3)
    assert v.weights == {"content": 1.0, "popular": 0.5}
    assert parse_split("90/10", 2) == [90.0, 10.0] and parse_split(None, 3) == [1.0] * 3
    for bad in (
        "a",
        "a:strategy=telepathy",
        "a:diversity=2,strategy=ema",
        "A!:strategy=ema",
        "a:strategy=ema,colour=red",
        "a:diversity=0.2",
        "a:strategy=ema,diversity=0.2",  # diversity would change nothing but the hybrid
    ):
        with pytest.raises(InvalidInput) as info:
            parse_variant(bad)
        assert info.value.field == "variant"
    for text, count in (("50", 2), ("50/x", 2), ("0/100", 2)):
        with pytest.raises(InvalidInput) as info:
            parse_split(text, count)
        assert info.value.field == "split"


def test_report_flags_a_significant_difference() -> None:
    experiment = Experiment("exp", ARMS, started=0.0)
    quiet = report(experiment, {"a": (100, 10, 1), "b": (100, 12, 2)})
    assert not quiet["comparisons"][0]["significant"] and "no significant" in quiet["summary"]
    loud = report(experiment, {"a": (5000, 250, 10), "b": (5000, 500, 30)})
    row = loud["comparisons"][0]
    assert row["significant"] and row["difference"] == pytest.approx(0.05)
    assert loud["summary"].startswith("b beats a")
    assert loud["variants"][1]["ctr_ci95"][0] < 0.1 < loud["variants"][1]["ctr_ci95"][1]


def test_an_experiment_splits_users_tags_lists_and_reports(engine: Engine) -> None:
    engine.add_items(
        [{"id": f"i{k}", "title": f"item {k} about {['space', 'food'][k % 2]}"} for k in range(12)]
    )
    users = [f"u{k}" for k in range(40)]
    for u in users:
        engine.record(u, "i0", "like")
    experiment = engine.create_experiment(
        "home", ["a:strategy=ema", "b:strategy=mean"], split="50/50"
    )
    assert experiment.running and [v.name for v in experiment.variants] == ["a", "b"]
    seen: Counter[str] = Counter()
    for u in users:
        rec = engine.recommend(u, n=3)
        assert rec.variant == f"home:{experiment.assign(u).name}"
        assert rec.strategy == experiment.assign(u).strategy
        seen[rec.variant] += 1
        if rec.variant == "home:b":  # variant b's users click
            engine.record(u, rec.items[0].id, "click", recommendation_id=rec.id)
    assert set(seen) == {"home:a", "home:b"}
    # a request that names its strategy is outside the experiment
    assert engine.recommend("u1", n=3, strategy="ema").variant is None
    result = engine.experiment_report("home")
    rows = {r["variant"]: r for r in result["variants"]}
    assert rows["a"]["impressions"] == seen["home:a"] and rows["a"]["clicks"] == 0
    assert rows["b"]["clicks"] == seen["home:b"] == rows["b"]["impressions"]
    with pytest.raises(Conflict):
        engine.create_experiment("other", ["a:strategy=ema", "b:strategy=mean"])
    with pytest.raises(Conflict):
        engine.create_experiment("home", ["a:strategy=ema", "b:strategy=mean"])
    with pytest.raises(NotFound) as missing:
        engine.stop_experiment("home", promote="c")
    assert missing.value.field == "promote" and engine.tracker.book.get("home").running
    stopped = engine.stop_experiment("home", promote="b")
    assert not stopped.running and stopped.winner == "b"
    after = engine.recommend("u3", n=3)
    assert after.variant is None and after.strategy == "mean"  # the winner is the default
    with pytest.raises(NotFound):
        engine.experiment_report("nothing")


def test_experiments_survive_a_reopen(tmp_path: pytest.TempPathFactory) -> None:
    folder = str(tmp_path)
    with Engine.open(folder, model="hashing-64") as engine:
        engine.create_experiment("keep", ["a:strategy=ema", "b:strategy=hybrid"], split="30/70")
    with Engine.open(folder) as engine:
        kept = engine.tracker.book.get("keep")
        assert kept.running and [v.weight for v in kept.variants] == [30.0, 70.0]


def test_experiments_know_every_strategy_the_ranker_does() -> None:
    from likewise.recommend import RECOMMENDERS
    from likewise.tracking.experiments import STRATEGIES

    assert set(STRATEGIES) == set(RECOMMENDERS)
