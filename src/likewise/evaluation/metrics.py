"""Ranking metrics for leave-one-out evaluation (pure functions)."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["coverage", "hit_rate", "ndcg", "novelty", "reciprocal_rank"]


def hit_rate(ranked: Sequence[str], target: str, k: int = 10) -> float:
    """1 if `target` is among the first `k` items, else 0."""
    return 1.0 if target in ranked[:k] else 0.0


def ndcg(ranked: Sequence[str], target: str, k: int = 10) -> float:
    """`1 / log2(rank + 1)` for the held-out item at 1-based `rank` <= k, else 0 (one
    relevant item, so the ideal DCG is 1)."""
    for rank, item in enumerate(ranked[:k], start=1):
        if item == target:
            return 1.0 / math.log2(rank + 1)
    return 0.0


def reciprocal_rank(ranked: Sequence[str], target: str, k: int = 10) -> float:
    """`1 / rank` of the held-out item within the first `k`, else 0 (averaged: MRR@k)."""
    for rank, item in enumerate(ranked[:k], start=1):
        if item == target:
            return 1.0 / rank
    return 0.0


def coverage(lists: Sequence[Sequence[str]], catalog_size: int) -> float:
    """The share of the catalog that appears in at least one list."""
    if catalog_size <= 0:
        return 0.0
    return len({item for ranked in lists for item in ranked}) / catalog_size


def novelty(ranked: Sequence[str], popularity: dict[str, float]) -> float:
    """Mean self-information `-log2(p(item))` of a list, `p` the share of users who
    interacted with the item (unknown items count as seen once)."""
    if not ranked:
        return 0.0
    floor = min(popularity.values(), default=1.0) or 1e-6
    return sum(-math.log2(popularity.get(item, floor)) for item in ranked) / len(ranked)
