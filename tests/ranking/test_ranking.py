"""Blending, MMR, caps and freshness: exact on small cases, invariants under Hypothesis."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from likewise.ranking import (
    cap,
    decay,
    dpp,
    intra_list_diversity,
    minmax,
    mmr,
    rotate,
    rrf,
    weighted,
)

scores = st.dictionaries(
    st.sampled_from([f"i{k}" for k in range(12)]), st.floats(-5, 5), min_size=1
)


@given(s=scores)
def test_minmax_lands_in_the_unit_interval_and_keeps_order(s: dict[str, float]) -> None:
    out = minmax(s)
    assert set(out) == set(s) and all(0.0 <= v <= 1.0 for v in out.values())
    for a in s:
        for b in s:
            if s[a] < s[b]:
                assert out[a] <= out[b]


def test_weighted_and_rrf_fusion() -> None:
    sources = {"content": {"a": 0.9, "b": 0.5, "c": 0.1}, "popular": {"c": 100.0, "d": 50.0}}
    fused = weighted(sources, {"content": 1.0, "popular": 0.5})
    assert fused == pytest.approx({"a": 1.0, "b": 0.5, "c": 0.5, "d": 0.0})
    assert weighted(sources, {"content": 1.0}) == pytest.approx(minmax(sources["content"]))
    ranks = rrf(sources, {"content": 1.0, "popular": 1.0}, k=1)
    assert ranks["c"] == pytest.approx(1 / 4 + 1 / 2) and max(ranks, key=ranks.get) == "c"  # type: ignore[arg-type]


unit_rows = arrays(np.float32, (8, 4), elements=st.floats(-1, 1, width=32)).map(
    lambda m: m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-3)
)


@pytest.mark.parametrize("pick", [mmr, dpp])
@given(
    vectors=unit_rows, rel=st.lists(st.floats(0, 1), min_size=8, max_size=8), n=st.integers(0, 8)
)
def test_no_diversity_is_plain_top_n(pick: Any, vectors: Any, rel: list[float], n: int) -> None:
    ids = [f"i{k}" for k in range(8)]
    expected = [ids[i] for i in sorted(range(8), key=lambda i: -rel[i])[:n]]
    assert pick(ids, rel, vectors, n=n, diversity=0.0) == expected


@pytest.mark.parametrize("pick", [mmr, dpp])
@given(
    vectors=unit_rows,
    rel=st.lists(st.floats(0, 1), min_size=8, max_size=8),
    n=st.integers(0, 8),
    diversity=st.floats(0, 1),
)
def test_diversity_picks_n_distinct_candidates_reproducibly(
    pick: Any, vectors: Any, rel: list[float], n: int, diversity: float
) -> None:
    ids = [f"i{k}" for k in range(8)]
    got = pick(ids, rel, vectors, n=n, diversity=diversity)
    assert len(got) == n and len(set(got)) == n and set(got) <= set(ids)
    assert got == pick(ids, rel, vectors, n=n, diversity=diversity)


def test_mmr_trades_relevance_for_variety() -> None:
    twins = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32)
    ids, rel = ["a", "a2", "b"], [1.0, 0.95, 0.6]
    assert mmr(ids, rel, twins, n=2, diversity=0.0) == ["a", "a2"]
    assert mmr(ids, rel, twins, n=2, diversity=0.5) == ["a", "b"]
    assert intra_list_diversity(twins[[0, 2]]) > intra_list_diversity(twins[[0, 1]])
    with pytest.raises(ValueError):
        mmr(ids, rel, twins, n=2, diversity=1.5)


@given(
    ids=st.lists(st.sampled_from([f"i{k}" for k in range(10)]), unique=True),
    limit=st.integers(1, 3),
)
def test_caps_are_respected_and_order_kept(ids: list[str], limit: int) -> None:
    categories = {f"i{k}": ("odd" if k % 2 else "even") if k < 8 else None for k in range(10)}
    got = cap(ids, categories, limit)
    assert got == [i for i in ids if i in got]
    for category in ("odd", "even"):
        assert sum(categories[i] == category for i in got) <= limit
    assert {i for i in ids if categories[i] is None} <= set(got)


def test_decay_shapes() -> None:
    day = 86_400.0
    assert decay(0, day) == 1.0 and decay(-5, day) == 1.0
    assert decay(day, day) == pytest.approx(0.5)
    assert decay(2 * day, day) == pytest.approx(0.25)
    assert decay(2 * day, day, shape="gaussian") == pytest.approx(0.0625)
    assert decay(0.2 * day, day, shape="gaussian") > decay(0.2 * day, day)
    with pytest.raises(ValueError):
        decay(1, 0)
    with pytest.raises(ValueError):
        decay(1, day, shape="linear")


def test_dpp_trades_relevance_for_variety() -> None:
    twins = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32)
    ids, rel = ["a", "a2", "b"], [1.0, 0.95, 0.6]
    assert dpp(ids, rel, twins, n=2, diversity=0.0) == ["a", "a2"]
    assert dpp(ids, rel, twins, n=2, diversity=0.5) == ["a", "b"]
    with pytest.raises(ValueError):
        dpp(ids, rel, twins, n=2, diversity=-0.1)


@given(
    ids=st.lists(st.sampled_from([f"i{k}" for k in range(10)]), unique=True),
    kinds=st.integers(1, 3),
)
def test_rotation_keeps_the_items_and_separates_neighbours(ids: list[str], kinds: int) -> None:
    categories = {f"i{k}": (f"c{k % kinds}" if k < 8 else None) for k in range(10)}
    got = rotate(ids, categories)
    assert sorted(got) == sorted(ids)
    # a clash is only left where every remaining item had the previous one's category
    for k, (a, b) in enumerate(itertools.pairwise(got)):
        if categories[a] is not None and categories[a] == categories[b]:
            assert all(categories[c] == categories[a] for c in got[k + 1 :])
    assert rotate(["a", "b"], {"a": "x", "b": "x"}) == ["a", "b"]
