"""Ranking metrics for leave-one-out evaluation (pure functions)."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["hit_rate", "ndcg"]


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
