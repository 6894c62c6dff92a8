"""Keeping lists varied: maximal marginal relevance and per-category caps (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["cap", "intra_list_diversity", "mmr"]

Matrix = npt.NDArray[np.float32]


def mmr(
    ids: Sequence[str], relevance: Sequence[float], vectors: Matrix, *, n: int, diversity: float
) -> list[str]:
    """Pick `n` of `ids` greedily by `(1 - diversity) * relevance - diversity * max_sim`.

    `max_sim` is the largest cosine to an item already picked (`vectors` rows are unit
    vectors, one per id). Relevance is min-max scaled over the candidates first, so that a
    diversity means the same trade on any score scale. diversity = 0 is plain top-n by
    relevance (ties by input order);
    larger values trade relevance for variety. Draw `ids` from more candidates than `n`
    (say 3n), or there is nothing to trade with.
    """
    if not 0.0 <= diversity <= 1.0:
        raise ValueError("diversity must be within [0, 1]")
    rel = np.asarray(relevance, dtype=np.float64)
    n = min(n, len(ids))
    if diversity == 0.0 or n == 0:
        order = sorted(range(len(ids)), key=lambda i: -rel[i])
        return [ids[i] for i in order[:n]]
    span = rel.max() - rel.min()
    rel = (rel - rel.min()) / span if span > 0 else np.ones_like(rel)
    sims = vectors.astype(np.float64) @ vectors.astype(np.float64).T
    if len(ids) > 1:
        pairs = sims[~np.eye(len(ids), dtype=bool)]
        low, high = pairs.min(), pairs.max()
        sims = (sims - low) / (high - low) if high > low else np.zeros_like(sims)
    picked: list[int] = []
    closest = np.full(len(ids), -np.inf)
    available = np.ones(len(ids), dtype=bool)
    for _ in range(n):
        penalty = np.where(np.isfinite(closest), closest, 0.0)
        value = (1 - diversity) * rel - diversity * penalty
        value[~available] = -np.inf
        best = int(np.argmax(value))
        picked.append(best)
        available[best] = False
        closest = np.maximum(closest, sims[best])
    return [ids[i] for i in picked]


def cap(ids: Sequence[str], categories: Mapping[str, str | None], limit: int) -> list[str]:
    """`ids` in order, keeping at most `limit` per category (items without one are kept)."""
    counts: dict[str, int] = {}
    out = []
    for item in ids:
        category = categories.get(item)
        if category is not None:
            if counts.get(category, 0) >= limit:
                continue
            counts[category] = counts.get(category, 0) + 1
        out.append(item)
    return out


def intra_list_diversity(vectors: Matrix) -> float:
    """Mean pairwise cosine distance (1 - cosine) within a list; 0 for fewer than two."""
    k = len(vectors)
    if k < 2:
        return 0.0
    sims = vectors.astype(np.float64) @ vectors.astype(np.float64).T
    return float((k * k - sims.sum()) / (k * (k - 1)))
