"""Choosing the HNSW beams of an index: unfiltered, and for each share a filter leaves.

The beam a catalog needs grows with its size and difficulty, so it is measured, not guessed:
on a sample of stored vectors, the smallest beam of `EF_LADDER` whose recall@10 against an
exact search reaches the target. Two kinds of query must both reach it: points moved off the
graph by a random step as long as their distance to their nearest neighbour (like new texts),
and stored points held out of the candidates (`leave one out`: queries from the catalog's own
distribution, which is what `similar` and most profiles are). A stored vector queried as it is
would be too easy: it sits in the graph.

A filter changes the walk: faiss's bitmap keeps non-matching nodes as stepping stones but out
of the results, so a rarer filter needs a wider beam. The beam for filters leaving 50%, 10% and
2% of the labels is measured the same way (held-out queries, random masks of that share) and
interpolated between; below 2% it grows as 1/sqrt(share), and the planner scans rarer subsets
exactly anyway (`ann.py`).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Protocol

import faiss as _faiss
import numpy as np
import numpy.typing as npt

Mask = npt.NDArray[np.bool_]
Vectors = npt.NDArray[np.float32]


class Graph(Protocol):
    """What calibration reads of `ann.VectorIndex` (named here: ann imports this module)."""

    config: Any  # ann.AnnConfig
    alive: Mask
    index: Any  # the faiss index

    @property
    def metric(self) -> str: ...

    def vectors(self) -> npt.NDArray[np.float32] | npt.NDArray[np.float16]: ...

    def _prepare(self, vectors: Vectors) -> Vectors: ...


__all__ = ["FRACTIONS", "filtered_ef", "measure"]

faiss: Any = _faiss  # its bundled stubs lack the search-parameter and selector classes

EF_LADDER = (16, 24, 32, 48, 64, 96, 128, 160, 192, 224, 256, 320, 384, 512, 768, 1024, 1536, 2048)
FRACTIONS = (0.5, 0.1, 0.02)


def measure(index: Graph, samples: int, seed: int) -> tuple[int, dict[float, int]]:
    """The unfiltered beam and the beam by filter share (see the module's docstring)."""
    cfg = index.config
    rng = np.random.default_rng(seed)
    live = np.flatnonzero(index.alive)
    pick = np.sort(rng.choice(live, min(samples, len(live)), replace=False))
    data = index.vectors()
    base = np.asarray(data[pick], dtype=np.float32)  # a copy (fp16 storage widened)
    held = index.alive.copy()
    held[pick] = False
    noise = rng.standard_normal(base.shape).astype(np.float32)
    shares = [held & (rng.random(len(held)) < f) for f in FRACTIONS]
    truth_held = exact_top(index, base, [held, *shares], 10)
    near = truth_held[0][:, 0]  # each held-out point's nearest neighbour
    step = np.linalg.norm(base - data[near], axis=1, keepdims=True)
    noise *= step / np.maximum(np.linalg.norm(noise, axis=1, keepdims=True), 1e-12)
    moved = index._prepare(base + noise)
    truth_moved = exact_top(index, moved, [index.alive], 10)[0]

    def recall(queries: Vectors, mask: Mask, truth: npt.NDArray[np.int64], ef: int) -> float:
        bits = np.packbits(mask, bitorder="little")
        params = faiss.SearchParametersHNSW(efSearch=ef, sel=faiss.IDSelectorBitmap(bits))
        found = index.index.search(queries, 10, params=params)[1]
        hits = [len(set(f) & set(t)) for f, t in zip(found.tolist(), truth.tolist(), strict=True)]
        return float(np.mean(hits)) / 10

    target = cfg.target_recall + cfg.calibration_margin  # a sample's recall varies
    chosen = cfg.max_calibrated_ef
    for ef in (e for e in EF_LADDER if e <= cfg.max_calibrated_ef):
        moved_ok = recall(moved, index.alive, truth_moved, ef) >= target
        if moved_ok and recall(base, held, truth_held[0], ef) >= target:
            chosen = ef
            break
    by_share: dict[float, int] = {}
    for f, mask, truth in zip(FRACTIONS, shares, truth_held[1:], strict=True):
        by_share[f] = cfg.max_ef + 1  # none reached it: such filters are scanned exactly
        for ef in (e for e in EF_LADDER if chosen <= e <= cfg.max_ef):
            if recall(base, mask, truth, ef) >= target:
                by_share[f] = ef
                break
    return chosen, by_share


def filtered_ef(ef_search: int, by_share: dict[float, int], share: float) -> int:
    """The beam for a filter that leaves `share` of the labels: interpolated (in logs)
    between the measured shares, 1/sqrt(share) beyond them (and without measurements)."""
    points = sorted([(1.0, ef_search), *by_share.items()], reverse=True)
    if len(points) == 1 or share >= 1.0:
        return math.ceil(ef_search / math.sqrt(max(share, 1e-9)))
    for (hi, ef_hi), (lo, ef_lo) in itertools.pairwise(points):
        if share >= lo:
            t = math.log(hi / share) / math.log(hi / lo)
            return math.ceil(math.exp((1 - t) * math.log(ef_hi) + t * math.log(ef_lo)))
    lo, ef_lo = points[-1]
    return math.ceil(ef_lo * math.sqrt(lo / max(share, 1e-9)))


def exact_top(
    index: Graph, queries: Vectors, masks: list[Mask], k: int
) -> list[npt.NDArray[np.int64]]:
    """The exact top-`k` labels of each query among each mask's labels, best first (one pass
    over the vectors, a block at a time: the scores of every label at once would not fit at
    1M). A mask's first `_SEED` labels are ranked in full; after them, a block adds only the
    scores above each query's `k`-th best so far, a few per block (`_raise`): ranking every
    column of every block took ~60% of a calibration's exact scan (0.54 of 0.9 s per pass at
    200k, 128 queries). On equal scores the lower label ranks first."""
    data = index.vectors()
    euclidean = index.metric == "euclidean"
    best_s = [np.full((len(queries), 0), -np.inf, np.float32) for _ in masks]
    best_l = [np.zeros((len(queries), 0), np.int64) for _ in masks]
    for start in range(0, len(data), _BLOCK):
        block = np.asarray(data[start : start + _BLOCK], dtype=np.float32)
        scores = queries @ block.T
        if euclidean:
            scores = 2 * scores - np.einsum("ij,ij->i", block, block)[None, :]
        for m, mask in enumerate(masks):
            keep = mask[start : start + len(block)]
            if best_s[m].shape[1] < k:  # the first k of the mask's labels, sorted
                rows = np.flatnonzero(keep)[: max(_SEED, k)]  # all of a block short of k
                merged_s = np.concatenate([best_s[m], scores[:, rows]], axis=1)
                labels = np.broadcast_to(start + rows, (len(queries), len(rows)))
                merged_l = np.concatenate([best_l[m], labels], axis=1)
                order = np.argsort(-merged_s, axis=1, kind="stable")[:, :k]
                best_s[m] = np.take_along_axis(merged_s, order, axis=1)
                best_l[m] = np.take_along_axis(merged_l, order, axis=1)
                if best_s[m].shape[1] < k or len(rows) == 0:
                    continue
                keep = keep.copy()
                keep[: rows[-1] + 1] = False  # the rest of the block is raised as below
            best_s[m], best_l[m] = _raise(best_s[m], best_l[m], scores, keep, start)
    return best_l


_BLOCK = 65_536  # labels scored at once (32 MB of scores for 128 queries)
_SEED = 1_024  # labels ranked in full before a mask's first k best are known

Best = tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]


def _raise(
    best_s: npt.NDArray[np.float32],
    best_l: npt.NDArray[np.int64],
    scores: npt.NDArray[np.float32],
    keep: Mask,
    start: int,
) -> Best:
    """The `k` best of each row (query) among its `k` best so far and the block's `scores`
    of the columns `keep` allows, best first; a score equal to a best so far ranks after it,
    as a stable sort of the two would rank it."""
    queries, k = best_s.shape
    row, col = np.divmod(np.flatnonzero(scores > best_s[:, -1:]), scores.shape[1])
    chosen = keep[col]
    row, col = row[chosen], col[chosen]
    if len(row) == 0:
        return best_s, best_l
    rows = np.concatenate([np.repeat(np.arange(queries), k), row])
    s = np.concatenate([best_s.ravel(), scores[row, col]])
    labels = np.concatenate([best_l.ravel(), start + col])
    order = np.lexsort((-s, rows))  # by row, then best first; stable: earlier first on ties
    first = np.searchsorted(rows[order], np.arange(queries))
    at = order[first[:, None] + np.arange(k)]
    return s[at], labels[at]
