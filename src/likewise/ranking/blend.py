"""Score blending: put each source's scores on one scale, then fuse them (pure functions).

Sources score on different scales (cosine in [-1, 1], co-occurrence counts, popularity), so
they are normalised per request before a weighted sum; reciprocal-rank fusion needs only the
order. Every function takes `{item_id: score}` per source and returns `{item_id: score}`.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["minmax", "rrf", "weighted"]

Scores = Mapping[str, float]


def minmax(scores: Scores) -> dict[str, float]:
    """Scores mapped linearly onto [0, 1] (all 1.0 when they are all equal)."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    span = high - low
    return {k: (v - low) / span if span > 0 else 1.0 for k, v in scores.items()}


def weighted(sources: Mapping[str, Scores], weights: Mapping[str, float]) -> dict[str, float]:
    """`sum(weight[s] * minmax(source s)[item])` over the sources that scored the item.

    A source with weight 0 (or missing from `weights`) contributes nothing.
    """
    out: dict[str, float] = {}
    for name, scores in sources.items():
        weight = weights.get(name, 0.0)
        if weight == 0:
            continue
        for item, score in minmax(scores).items():
            out[item] = out.get(item, 0.0) + weight * score
    return out


def rrf(
    sources: Mapping[str, Scores], weights: Mapping[str, float], k: int = 60
) -> dict[str, float]:
    """Reciprocal-rank fusion: `sum(weight[s] / (k + rank_s(item)))`, ranks from 1."""
    out: dict[str, float] = {}
    for name, scores in sources.items():
        weight = weights.get(name, 0.0)
        if weight == 0:
            continue
        ranked = sorted(scores, key=lambda item: (-scores[item], item))
        for rank, item in enumerate(ranked, start=1):
            out[item] = out.get(item, 0.0) + weight / (k + rank)
    return out
