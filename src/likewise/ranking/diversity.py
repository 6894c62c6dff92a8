"""Keeping lists varied (pure functions): maximal marginal relevance, a greedy determinantal
point process, per-category caps and category rotation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["DPP_RIDGE", "cap", "dpp", "intra_list_diversity", "mmr", "rotate"]

Matrix = npt.NDArray[np.float32]


def _scaled(
    ids: Sequence[str], relevance: Sequence[float], n: int, diversity: float
) -> tuple[list[str] | None, npt.NDArray[np.float64]]:
    """Check `diversity`; the plain top-n when there is nothing to trade (diversity 0, n 0),
    else None and the relevance min-max scaled to [0, 1] (all 1 when it is flat)."""
    if not 0.0 <= diversity <= 1.0:
        raise ValueError("diversity must be within [0, 1]")
    rel = np.asarray(relevance, dtype=np.float64)
    if diversity == 0.0 or min(n, len(ids)) == 0:
        order = sorted(range(len(ids)), key=lambda i: -rel[i])
        return [ids[i] for i in order[: min(n, len(ids))]], rel
    span = rel.max() - rel.min()
    return None, (rel - rel.min()) / span if span > 0 else np.ones_like(rel)


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
    top, rel = _scaled(ids, relevance, n, diversity)
    if top is not None:
        return top
    n = min(n, len(ids))
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


DPP_RIDGE = 0.15  # added to the similarity kernel's diagonal (see `dpp`)


def dpp(
    ids: Sequence[str], relevance: Sequence[float], vectors: Matrix, *, n: int, diversity: float
) -> list[str]:
    """Pick `n` of `ids` by greedy MAP inference of a determinantal point process.

    The kernel is ``L = diag(q) (S + ridge I) diag(q)`` with ``S`` the cosine similarities and
    ``q = exp(alpha * relevance)``, ``alpha = theta / (2 (1 - theta))``, ``theta = 1 -
    diversity`` (Chen, Zhang and Zhou, "Fast Greedy MAP Inference for Determinantal Point
    Process to Improve Recommendation Diversity", NeurIPS 2018; incremental Cholesky, so
    O(candidates x n^2)). Unlike MMR, which penalises the single most similar item already
    picked, the determinant penalises redundancy with the whole list (its volume), which
    measured a better accuracy/variety trade on MovieLens-1M (bench/hybrid.py). The ridge
    keeps an item that shares every feature with a picked one eligible, at a cost.
    Relevance is min-max scaled first; diversity = 0 is plain top-n by relevance.
    """
    top, rel = _scaled(ids, relevance, n, diversity)
    if top is not None:
        return top
    n = min(n, len(ids))
    theta = 1.0 - diversity
    alpha = min(theta / (2.0 * diversity), 300.0)  # capped: exp stays finite and non-zero
    quality = np.exp(alpha * (rel - 1.0))  # a common factor: the picks are unchanged
    unit = vectors.astype(np.float64)
    kernel = unit @ unit.T + DPP_RIDGE * np.eye(len(ids))
    kernel *= np.outer(quality, quality)
    rows = np.zeros((n, len(ids)))
    gain = np.diag(kernel).copy()  # each candidate's marginal gain in log det, squared
    picked = [int(np.argmax(gain))]
    while len(picked) < n:
        j, k = picked[-1], len(picked) - 1
        e = (kernel[j] - rows[:k, j] @ rows[:k]) / np.sqrt(max(gain[j], 1e-300))
        rows[k] = e
        gain = gain - e * e
        gain[picked] = -np.inf
        picked.append(int(np.argmax(gain)))
    return [ids[i] for i in picked]


def rotate(ids: Sequence[str], categories: Mapping[str, str | None]) -> list[str]:
    """`ids` reordered so that neighbours differ in category where the list allows: each
    slot takes the best-ranked remaining item whose category is not the previous one's
    (items without a category never clash). A list of one category keeps its order."""
    left = list(ids)
    out: list[str] = []
    previous: str | None = None
    while left:
        pick = next(
            (i for i in left if categories.get(i) is None or categories.get(i) != previous),
            left[0],
        )
        left.remove(pick)
        out.append(pick)
        previous = categories.get(pick)
    return out


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
