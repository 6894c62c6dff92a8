"""The embedded store's search of many vectors at once, for a digest (`store.digest`).

A digest asks for the lists of a page of users together. One faiss call searches the whole
matrix of their interest vectors, on every core (faiss spreads the queries over its OpenMP
threads), where a `search` per user runs on one thread and pays Python's overhead each time.
Each user's own exclusions (seen and already sent) are dropped from a longer list afterwards,
as `SpaceIndex.search` does for a short exclusion list; a user with more than `PER_USER`
exclusions, and the filters that leave few enough items to scan exactly, are searched one
user at a time exactly as `search` would.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from likewise.errors import StoreError
from likewise.filters import parse_where
from likewise.store.base import TEXT, StoreInfo, Vector
from likewise.store.checks import check_query
from likewise.store.embedded.ann import VectorIndex, faiss, threads
from likewise.store.embedded.calibrate import filtered_ef
from likewise.store.embedded.changes import Changes
from likewise.store.embedded.locks import RWLock
from likewise.store.embedded.space import SpaceIndex

__all__ = ["PER_USER", "BatchSearch"]

PER_USER = 100  # more exclusions than this: searched alone, with them masked out
CORES = os.cpu_count() or 1

Mask = npt.NDArray[np.bool_]
Pairs = list[tuple[str, float]]


class BatchSearch(Changes):
    """The shared SQL and its change log (`Changes`), with `search_many` over the faiss
    index (a mixin of `EmbeddedStore`, which provides the attributes below)."""

    _rw: RWLock

    def _space(self, name: str) -> SpaceIndex:
        raise NotImplementedError

    def _require_info(self) -> StoreInfo:
        raise StoreError("no store")

    def search_many(
        self,
        vectors: Sequence[Vector],
        *,
        n: int,
        where: Mapping[str, Any] | None = None,
        excludes: Sequence[Sequence[str]] = (),
        space: str = TEXT,
    ) -> list[list[tuple[str, float]]]:
        if not len(vectors):
            return []
        node = parse_where(where)
        self._require_info()
        index = self._space(space)
        queries = np.stack([check_query(index.space, v, n) for v in vectors])
        skips = list(excludes) or [()] * len(queries)
        if len(skips) != len(queries):
            raise ValueError("excludes: one exclusion list per vector")
        with self._rw.read():
            mask = None if node is None else index.mask(node)
            return search_rows(index, queries, n, mask, skips)


def search_rows(
    index: SpaceIndex, queries: Vector, n: int, mask: Mask | None, skips: Sequence[Sequence[str]]
) -> list[Pairs]:
    """Each query's `n` best (id, score) pairs among `mask`, less its own skipped ids."""
    out: list[Pairs | None] = [None] * len(queries)
    labels = [set(index.labels(s).values()) for s in skips]
    batch = [k for k, s in enumerate(labels) if len(s) <= PER_USER]
    for k in range(len(queries)):
        if len(labels[k]) > PER_USER:  # a long history: masked out, as `search` does
            out[k] = index.search(queries[k], n, None if mask is None else mask.copy(), skips[k])
    if batch:
        found = _together(index, queries[batch], n, mask, [labels[k] for k in batch])
        for k, pairs in zip(batch, found, strict=True):
            out[k] = pairs
    return [pairs or [] for pairs in out]


def _together(
    index: SpaceIndex, queries: Vector, n: int, mask: Mask | None, skips: list[set[int]]
) -> list[Pairs]:
    """One faiss call for every query, `n` plus the most skipped labels long, planned as
    `VectorIndex.search` plans one query (HNSW, filtered HNSW, or an exact scan)."""
    vi: VectorIndex = index.index
    k = n + max(len(s) for s in skips)
    keep: Mask | None = None
    if mask is None and vi.live_count() == vi.size:
        ef, walk = max(vi.ef_search, k), True
    else:
        keep = vi.alive if mask is None else mask & vi.alive
        count = int(np.count_nonzero(keep))
        if count == 0:
            return [[] for _ in skips]
        k = min(k, count)
        ef = max(filtered_ef(vi.ef_search, vi.by_share, count / vi.size), k)
        cfg = vi.config
        walk = count > max(cfg.exact_below, cfg.exact_per_ef * ef) and ef <= cfg.max_ef
    q = vi._prepare(queries)
    if not walk:
        assert keep is not None
        return [_exact(index, q[r : r + 1], n, keep, skips[r]) for r in range(len(q))]
    if keep is None:
        params = faiss.SearchParametersHNSW(efSearch=ef)
    else:
        bits = np.packbits(keep, bitorder="little")
        params = faiss.SearchParametersHNSW(efSearch=ef, sel=faiss.IDSelectorBitmap(bits))
    with threads(CORES):
        distances, found = vi.index.search(q, k, params=params)
    if vi.metric == "euclidean":  # squared distances: minus the distance, as `search` scores
        distances = -np.sqrt(np.maximum(distances, 0))
    # Each row's own skipped labels, dropped all at once: (row, label) as one number.
    rows = np.arange(len(q), dtype=np.int64)[:, None]
    owners = np.repeat(rows[:, 0], [len(s) for s in skips])
    skipped = np.fromiter((label for s in skips for label in s), np.int64, len(owners))
    keep_hit = (found >= 0) & ~np.isin(rows * vi.size + found, owners * vi.size + skipped)
    keep_hit &= np.cumsum(keep_hit, axis=1) <= n
    short = (found >= 0).sum(axis=1) < k if keep is not None else np.zeros(len(q), bool)
    ids = index.ids
    out = []
    for r in range(len(q)):
        if short[r]:  # the filtered walk met too few: scan exactly, as `search` does
            assert keep is not None
            out.append(_exact(index, q[r : r + 1], n, keep, skips[r]))
            continue
        hit = keep_hit[r]
        labels, scores = found[r][hit].tolist(), distances[r][hit].tolist()
        out.append([(ids[label], float(s)) for label, s in zip(labels, scores, strict=True)])
    return out


def _exact(index: SpaceIndex, q: Vector, n: int, keep: Mask, skip: set[int]) -> Pairs:
    """One query scored exactly over the kept labels less its skipped ones."""
    labels = np.flatnonzero(keep)
    if skip:
        labels = labels[~np.isin(labels, np.fromiter(skip, np.int64))]
    if len(labels) == 0:
        return []
    found, scores = index.index._exact(q, min(n, len(labels)), labels.astype(np.int64))
    return [
        (index.ids[label], float(s))
        for label, s in zip(found.tolist(), scores.tolist(), strict=True)
    ]
