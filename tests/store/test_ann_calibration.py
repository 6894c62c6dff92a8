"""The beams calibration picks reach the target on queries it did not see, filtered or not.

Calibration measures on a sample (`calibrate.py`); these tests check its choices on other
queries of both kinds it guards against: stored points held out of the candidates (what
`similar` asks) and points off the graph, unfiltered and under random filters of the shares
it measures. Data: 6,000 points of a mixture of 30 Gaussians in 32-d, small enough to build in
a second or two, clustered like embeddings so that a narrow beam misses; the unseen queries are
150 more draws from the same mixture.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from likewise.store.embedded.ann import AnnConfig, VectorIndex
from likewise.store.embedded.calibrate import EF_LADDER, exact_top, filtered_ef

N, DIM, FRESH = 6_000, 32, 150


def _mixture(count: int) -> np.ndarray:
    rng = np.random.default_rng(11)
    centres = rng.standard_normal((30, DIM)).astype(np.float32)
    out = centres[rng.integers(0, 30, count)] + rng.standard_normal((count, DIM), np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return _mixture(N + FRESH)[:N]


@pytest.fixture(scope="module")
def fresh() -> np.ndarray:
    """Queries the index never saw, from the catalog's own distribution."""
    return _mixture(N + FRESH)[N:]


@pytest.fixture(scope="module")
def index(data: np.ndarray) -> VectorIndex:
    out = VectorIndex(DIM, "cosine", AnnConfig(m=8, ef_construction=32, ef_search=16))
    out.add(data, np.ones(N, bool))
    out.calibrate()
    return out


def _recall(index: VectorIndex, data: np.ndarray, queries: np.ndarray, mask: np.ndarray) -> float:
    """Mean recall@10 of `index.search` against brute force over `mask`."""
    got = []
    for q in queries:
        labels = np.flatnonzero(mask)
        truth = labels[np.argsort(-(data[labels] @ q))[:10]]
        found = index.search(q, 10, mask)[0]
        got.append(len(set(found.tolist()) & set(truth.tolist())) / 10)
    return float(np.mean(got))


def test_the_unfiltered_beam_reaches_the_target_on_held_out_points(
    index: VectorIndex, data: np.ndarray, fresh: np.ndarray
) -> None:
    assert index.ef_search in EF_LADDER and index.ef_search > 16  # 16 misses on this data
    rng = np.random.default_rng(5)
    held = rng.choice(N, 150, replace=False)
    recalls = []
    for label in held:  # each query is a stored point, left out of its own candidates
        mask = np.ones(N, bool)
        mask[label] = False
        recalls.append(_recall(index, data, data[label : label + 1], mask))
    assert np.mean(recalls) >= 0.97
    assert _recall(index, data, fresh, np.ones(N, bool)) >= 0.97


@pytest.mark.parametrize("share", [0.5, 0.1])
def test_filtered_beams_reach_the_target_through_the_graph(
    index: VectorIndex, data: np.ndarray, fresh: np.ndarray, share: float
) -> None:
    """With exact scans turned off, a random filter of a measured share is answered by the
    graph walk at the calibrated beam, and reaches the target on unseen queries."""
    assert set(index.by_share) == {0.5, 0.1, 0.02}
    walker = VectorIndex(DIM, "cosine", AnnConfig(exact_below=0, exact_per_ef=0))
    walker.index, walker.alive, walker._live = index.index, index.alive, index._live
    walker.ef_search, walker.by_share = index.ef_search, index.by_share
    rng = np.random.default_rng(int(share * 100))
    mask = rng.random(N) < share
    assert _recall(walker, data, fresh, mask) >= 0.97


def test_the_beam_by_share_is_interpolated_between_measurements() -> None:
    table = {0.5: 64, 0.1: 128, 0.02: 512}
    assert filtered_ef(48, table, 1.0) == 48
    assert filtered_ef(48, table, 0.5) == 64 and filtered_ef(48, table, 0.1) == 128
    assert filtered_ef(48, table, 0.02) == 512
    shares = [0.9, 0.7, 0.5, 0.3, 0.1, 0.05, 0.02, 0.01, 0.005]
    beams = [filtered_ef(48, table, s) for s in shares]
    assert beams == sorted(beams) and 64 < filtered_ef(48, table, 0.3) < 128
    assert filtered_ef(48, table, 0.005) == 1024  # 512 * sqrt(0.02 / 0.005)
    assert filtered_ef(48, {}, 0.25) == 96  # no measurements: 1/sqrt(share)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_the_exact_top_matches_brute_force(metric: str, data: np.ndarray) -> None:
    size = 70_000  # more than one block of 65,536
    rng = np.random.default_rng(2)
    stored = np.resize(data, (size, DIM)) * rng.uniform(0.5, 2, (size, 1)).astype(np.float32)
    stored += 0.01 * rng.standard_normal((size, DIM)).astype(np.float32)  # no exact ties
    if metric == "cosine":
        stored /= np.linalg.norm(stored, axis=1, keepdims=True)  # as the index stores them
    queries = stored[:5] + 0.1
    mask = rng.random(size) < 0.3
    flat = SimpleNamespace(vectors=lambda: stored, metric=metric)  # all exact_top reads
    got = exact_top(flat, queries, [np.ones(size, bool), mask], 10)  # type: ignore[arg-type]
    for q, everyone, some in zip(queries, got[0], got[1], strict=True):
        score = -np.linalg.norm(stored - q, axis=1) if metric == "euclidean" else stored @ q
        assert everyone.tolist() == np.argsort(-score, kind="stable")[:10].tolist()
        masked = np.where(mask, score, -np.inf)
        assert some.tolist() == np.argsort(-masked, kind="stable")[:10].tolist()


def test_the_measured_beams_are_kept_in_the_snapshot(tmp_path: Path) -> None:
    from likewise.store import EmbeddedStore, StoreInfo
    from likewise.testing.contract import entry

    rng = np.random.default_rng(4)
    points = rng.standard_normal((2_000, 16)).astype(np.float32)
    store = EmbeddedStore(tmp_path)
    store.initialize(StoreInfo("beams", 16))
    store.upsert([entry(f"i{k}", points[k]) for k in range(len(points))])
    store.close()  # calibrates and saves
    again = EmbeddedStore(tmp_path)
    try:
        index = again._spaces["text"].index
        assert index.calibrated_at == 2_000 and set(index.by_share) == {0.5, 0.1, 0.02}
    finally:
        again.close()
