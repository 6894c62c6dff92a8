"""Leave-one-out metrics."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from likewise.evaluation import coverage, hit_rate, ndcg, novelty, reciprocal_rank


def test_known_values() -> None:
    ranked = ["a", "b", "c"]
    assert (hit_rate(ranked, "b"), ndcg(ranked, "b")) == (1.0, 1 / math.log2(3))
    assert (hit_rate(ranked, "a"), ndcg(ranked, "a")) == (1.0, 1.0)
    assert (hit_rate(ranked, "z"), ndcg(ranked, "z")) == (0.0, 0.0)
    assert hit_rate(ranked, "c", k=2) == 0.0


@given(
    ranked=st.lists(st.sampled_from("abcdefghij"), unique=True),
    target=st.sampled_from("abcdefghij"),
    k=st.integers(1, 10),
)
def test_metrics_lie_in_the_unit_interval(ranked: list[str], target: str, k: int) -> None:
    assert 0.0 <= ndcg(ranked, target, k) <= hit_rate(ranked, target, k) <= 1.0


def test_mrr_coverage_and_novelty() -> None:
    assert reciprocal_rank(["a", "b", "c"], "c") == 1 / 3
    assert reciprocal_rank(["a"], "z") == 0.0
    assert coverage([["a", "b"], ["b", "c"]], 6) == 0.5
    popular = {"hit": 0.5, "niche": 0.125}
    assert novelty(["hit"], popular) == 1.0
    assert novelty(["hit", "niche"], popular) == 2.0
    assert novelty(["unknown"], popular) == 3.0  # as rare as the rarest known item
