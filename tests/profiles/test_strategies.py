"""The profile math: exact formulas and the invariants every update keeps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from likewise.config import RECENT_MAX
from likewise.errors import ConfigError
from likewise.profiles import (
    ProfileConfig,
    ProfileState,
    Step,
    apply,
    dislike,
    ema,
    mean,
    momentum,
    normalize,
)
from likewise.profiles.strategies import has_direction

DIM = 6
Vec = np.ndarray[Any, np.dtype[np.float32]]

_raw = arrays(np.float32, DIM, elements=st.floats(-1, 1, width=32)).filter(
    lambda v: float(np.linalg.norm(v)) > 0.05
)
units = _raw.map(lambda v: normalize(v))
alphas = st.floats(0.01, 1.0)
betas = st.floats(0.0, 2.0)


def is_unit(v: Vec | None) -> bool:
    return v is not None and bool(np.isfinite(v).all()) and abs(np.linalg.norm(v) - 1) < 1e-5


@given(old=units, item=units, alpha=alphas)
def test_ema_is_a_finite_unit_vector(old: Vec, item: Vec, alpha: float) -> None:
    assert is_unit(ema(old, item, alpha))


@given(old=units, item=units)
def test_ema_with_alpha_one_is_the_last_item(old: Vec, item: Vec) -> None:
    assert np.allclose(ema(old, item, 1.0), item, atol=1e-6)


@given(old=units, item=units, alpha=st.floats(0.05, 0.95))
def test_ema_matches_its_formula_and_moves_towards_the_item(
    old: Vec, item: Vec, alpha: float
) -> None:
    mixed = alpha * item.astype(np.float64) + (1 - alpha) * old
    got = ema(old, item, alpha)
    if np.linalg.norm(mixed) > 1e-3:
        assert np.allclose(got, mixed / np.linalg.norm(mixed), atol=1e-6)
    assert float(got @ item) >= float(old @ item) - 1e-6


def test_ema_starts_from_the_first_item() -> None:
    item = np.array([3, 4, 0, 0, 0, 0], dtype=np.float32)
    assert np.allclose(ema(None, item, 0.2), [0.6, 0.8, 0, 0, 0, 0])


@given(old=units, item=units, beta=betas)
def test_dislike_is_a_finite_unit_vector(old: Vec, item: Vec, beta: float) -> None:
    assert is_unit(dislike(old, item, beta))


@given(old=units, item=units)
def test_dislike_with_beta_zero_changes_nothing(old: Vec, item: Vec) -> None:
    assert np.allclose(dislike(old, item, 0.0), old, atol=1e-6)


@given(old=units, item=units, beta=st.floats(0.05, 2.0))
def test_dislike_lowers_the_cosine_to_the_disliked_item(old: Vec, item: Vec, beta: float) -> None:
    if abs(float(old @ item)) > 0.999:
        return  # parallel: the direction cannot turn away, only flip or stay
    assert float(dislike(old, item, beta) @ item) < float(old @ item)


def test_dislike_matches_its_formula() -> None:
    old = normalize([1, 1, 0, 0, 0, 0])
    item = normalize([1, 0, 0, 0, 0, 0])
    assert old is not None and item is not None
    expected = old - 0.5 * item
    assert np.allclose(dislike(old, item, 0.5), expected / np.linalg.norm(expected))


def test_dislike_of_everything_the_profile_holds_keeps_it() -> None:
    old = normalize([1, 0, 0, 0, 0, 0])
    assert old is not None
    assert np.array_equal(dislike(old, old, 1.0), old)


@given(rows=st.lists(units, min_size=1, max_size=8))
def test_mean_is_the_normalised_average(rows: list[Vec]) -> None:
    total = np.sum(rows, axis=0, dtype=np.float64)
    got = mean(np.stack(rows))
    if np.linalg.norm(total) > 1e-3:
        assert got is not None
        assert np.allclose(got, total / np.linalg.norm(total), atol=1e-6)
    assert got is None or is_unit(got)


def test_momentum_projects_the_newer_half_past_the_older() -> None:
    snaps = np.stack([normalize([1, t, 0, 0, 0, 0]) for t in (0.0, 0.2, 0.4, 0.6)])
    old, new = snaps[:2].mean(0), snaps[2:].mean(0)
    expected = normalize(2 * new - old)
    assert np.allclose(momentum(snaps), expected, atol=1e-6)  # type: ignore[arg-type]
    # The projection leans further along the drift than the newest snapshot does.
    got = momentum(snaps)
    assert got is not None and got[1] / got[0] > snaps[-1][1] / snaps[-1][0]


def test_momentum_needs_two_snapshots_and_skips_the_middle_of_an_odd_count() -> None:
    one = np.stack([normalize([1, 0, 0, 0, 0, 0])])
    assert momentum(one) is None
    three = np.stack(
        [normalize(v) for v in ([1, 0, 0, 0, 0, 0], [0, 0, 9, 0, 0, 0], [1, 1, 0, 0, 0, 0])]
    )
    two = three[[0, 2]]
    assert np.allclose(momentum(three), momentum(two))  # type: ignore[arg-type]


@given(
    steps=st.lists(
        st.tuples(units, st.sampled_from([1.0, 0.5, 0.0, -0.5, -1.0])), min_size=1, max_size=30
    ),
    alpha=alphas,
    beta=betas,
)
def test_any_event_sequence_keeps_profiles_finite_and_unit(
    steps: list[tuple[Vec, float]], alpha: float, beta: float
) -> None:
    config = ProfileConfig(alpha=alpha, beta=beta, snapshot_every=3)
    todo = [Step(f"i{k}", v, s, float(k)) for k, (v, s) in enumerate(steps)]
    state, snaps = apply(ProfileState("u"), todo, config)
    positives = sum(s > 0 for _, s in steps)
    assert state.events == len(steps) and state.positives == positives
    if positives:
        assert is_unit(state.interest) and is_unit(state.ema)
    for snap in snaps:
        assert is_unit(snap.vector)
    # Applying the same events one at a time gives the same state (online == batch).
    one_by_one = ProfileState("u")
    for step in todo:
        one_by_one, _ = apply(one_by_one, [step], config)
    for a, b in ((state.interest, one_by_one.interest), (state.ema, one_by_one.ema)):
        assert (a is None and b is None) or np.array_equal(a, b)  # type: ignore[arg-type]


def test_weighted_signals_scale_the_steps() -> None:
    a = normalize([1, 0, 0, 0, 0, 0])
    b = normalize([0, 1, 0, 0, 0, 0])
    assert a is not None and b is not None
    config = ProfileConfig(alpha=0.4, beta=0.5)
    start = ProfileState("u", interest=a, ema=a)
    half, _ = apply(start, [Step("b", b, 0.5, 0.0)], config)
    assert np.allclose(half.interest, ema(a, b, 0.2))  # type: ignore[arg-type]
    weak, _ = apply(start, [Step("b", a, -0.5, 0.0)], config)
    assert np.array_equal(weak.interest, dislike(a, a, 0.25))  # type: ignore[arg-type]
    assert weak.ema is a  # dislikes leave the positives-only EMA alone


def test_first_positive_initialises_and_dislike_first_only_counts() -> None:
    a = normalize([1, 2, 0, 0, 0, 0])
    assert a is not None
    state, _ = apply(ProfileState("u"), [Step("x", a, -1.0, 0.0)], ProfileConfig())
    assert state.interest is None and state.negatives == 1
    state, _ = apply(state, [Step("a", a, 1.0, 1.0)], ProfileConfig())
    assert np.array_equal(state.interest, a) and state.recent == ["a"]  # type: ignore[arg-type]


def test_snapshots_follow_the_event_count_and_the_clock() -> None:
    a = normalize([1, 0, 0, 0, 0, 0])
    assert a is not None
    steps = [Step("a", a, 1.0, float(t)) for t in range(25)]
    _, by_count = apply(ProfileState("u"), steps, ProfileConfig(snapshot_every=10))
    assert [s.at for s in by_count] == [9.0, 19.0]
    clock = ProfileConfig(snapshot_every=1000, snapshot_seconds=7)
    _, by_clock = apply(ProfileState("u"), steps, clock)
    assert [s.at for s in by_clock] == [0.0, 7.0, 14.0, 21.0]


def test_recent_is_unique_newest_last_and_bounded() -> None:
    a = normalize([1, 0, 0, 0, 0, 0])
    assert a is not None
    distinct = RECENT_MAX + 10
    steps = [Step(f"i{k % distinct}", a, 1.0, 0.0) for k in range(distinct + 10)]
    state, _ = apply(ProfileState("u"), [*steps, Step("i3", a, 1.0, 0)], ProfileConfig())
    assert len(state.recent) == RECENT_MAX and state.recent[-1] == "i3"
    assert len(set(state.recent)) == RECENT_MAX


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"alpha": 0.0}, id="alpha-zero"),
        pytest.param({"alpha": 1.5}, id="alpha-above-one"),
        pytest.param({"beta": -0.1}, id="beta-negative"),
        pytest.param({"mean_n": 0}, id="mean-n-zero"),
        pytest.param({"history": 1}, id="history-one"),
    ],
)
def test_config_out_of_range_is_named(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        ProfileConfig(**kwargs)  # type: ignore[arg-type]


@given(
    arrays(
        np.float32,
        DIM,
        elements=st.one_of(
            st.floats(width=32, allow_nan=True, allow_infinity=True),
            st.sampled_from([0.0, 1e-7, -1e-7, 5e-7, 1e-30]),
        ),
    )
)
def test_has_direction_is_normalize_finding_one(vector: Vec) -> None:
    assert has_direction(vector) == (normalize(vector) is not None)
