"""`apply_many` is `apply` for every user: the very same states, vectors bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from likewise.profiles import ProfileConfig, ProfileState, Step, apply, normalize
from likewise.profiles.batch import apply_many

DIM = 6
Vec = np.ndarray[Any, np.dtype[np.float32]]
_units = arrays(np.float32, DIM, elements=st.floats(-1, 1, width=32)).filter(
    lambda v: float(np.linalg.norm(v)) > 0.05
)
_signals = st.sampled_from([1.0, 0.5, 0.0, -0.5, -1.0, 2.0])


def _same(a: ProfileState, b: ProfileState) -> bool:
    scalars = ("user_id", "recent", "events", "positives", "negatives", "since_snapshot")
    more = ("last_snapshot_at", "updated_at", "space")
    if any(getattr(a, f) != getattr(b, f) for f in (*scalars, *more)):
        return False
    for f in ("interest", "ema", "seed"):
        x, y = getattr(a, f), getattr(b, f)
        if (x is None) != (y is None) or (x is not None and not np.array_equal(x, y)):
            return False
        if x is not None and x.dtype != y.dtype:
            return False
    return True


def _check(batch: list[tuple[ProfileState, list[Step]]], config: ProfileConfig) -> None:
    got = apply_many(batch, config)
    want = [apply(state, steps, config) for state, steps in batch]
    assert len(got) == len(want)
    for (g, g_snaps), (w, w_snaps) in zip(got, want, strict=True):
        assert _same(g, w)
        assert [s.at for s in g_snaps] == [s.at for s in w_snaps]
        assert all(
            np.array_equal(a.vector, b.vector) for a, b in zip(g_snaps, w_snaps, strict=True)
        )


@given(
    users=st.lists(
        st.tuples(
            st.one_of(st.none(), _units.map(normalize)),  # a fresh or an onboarded profile
            st.lists(st.tuples(st.integers(0, 7), _units, _signals), max_size=6),
        ),
        max_size=8,
    ),
    alpha=st.floats(0.01, 1.0),
    beta=st.floats(0.0, 2.0),
)
def test_apply_many_is_apply_per_user(
    users: list[tuple[Vec | None, list[tuple[int, Vec, float]]]], alpha: float, beta: float
) -> None:
    config = ProfileConfig(alpha=alpha, beta=beta, snapshot_every=2)
    batch = [
        (
            ProfileState.seeded(f"u{u}", seed),
            [Step(f"i{item}", v, s, float(k)) for k, (item, v, s) in enumerate(steps)],
        )
        for u, (seed, steps) in enumerate(users)
    ]
    _check(batch, config)


def test_apply_many_is_apply_per_user_on_large_vectors() -> None:
    rng = np.random.default_rng(11)
    config = ProfileConfig(snapshot_every=3)
    for dim in (256, 384):
        items = [normalize(rng.standard_normal(dim)) for _ in range(50)]
        batch = []
        for u in range(300):
            seed = normalize(rng.standard_normal(dim)) if u % 3 == 0 else None
            state = ProfileState.seeded(f"u{u}", seed, space="behaviour")
            state.recent = [f"i{k}" for k in rng.integers(0, 50, 5)]
            steps = [
                Step(f"i{k}", items[k], float(rng.choice([1.0, 1.0, 0.5, -1.0])), float(t))  # type: ignore[arg-type]
                for t, k in enumerate(rng.integers(0, 50, int(rng.integers(0, 6))))
            ]
            batch.append((state, steps))
        _check(batch, config)


def test_apply_many_keeps_the_one_user_fallbacks() -> None:
    a = normalize([1, 0, 0])
    assert a is not None
    minus = (-a).astype(np.float32)
    wide = np.array([0, 1, 0], dtype=np.float64)  # not float32: the one-user path
    config = ProfileConfig(alpha=0.5)
    batch = [
        (ProfileState("u1", interest=a, ema=a), [Step("m", minus, 1.0, 0.0)]),  # cancels out
        (ProfileState("u2", interest=a, ema=a), [Step("w", wide, 1.0, 0.0)]),  # type: ignore[arg-type]
        (ProfileState("u3", interest=a, ema=a), [Step("b", a, 1.0, 0.0)]),
        (ProfileState("u4"), []),
    ]
    _check(batch, config)
    assert np.array_equal(apply_many(batch, config)[0][0].interest, minus)  # type: ignore[arg-type]
