"""`Store.search_many` on the embedded store (one faiss call for many vectors) against
`search` one vector at a time and against exact scores, in each way it plans: the HNSW walk,
the filtered walk, the exact scan of a small filter, and the users with long exclusions."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from likewise.store import EmbeddedStore, StoreInfo
from likewise.store.embedded.digest import PER_USER
from likewise.testing.values import entry

N, DIM, K = 3_000, 16, 10


@pytest.fixture(scope="module")
def points() -> np.ndarray:
    return np.random.default_rng(5).standard_normal((N, DIM)).astype(np.float32)


@pytest.fixture(scope="module")
def store(points: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    s = EmbeddedStore(tmp_path_factory.mktemp("many"))
    s.initialize(StoreInfo("many", DIM))
    s.upsert([entry(f"i{k:04d}", points[k], bucket=k % 100) for k in range(N)])
    yield s
    s.close()


def exact(points: np.ndarray, q: np.ndarray, keep: np.ndarray, skip: list[str]) -> list[str]:
    unit = points / np.linalg.norm(points, axis=1, keepdims=True)
    scores = unit @ (q / np.linalg.norm(q))
    allowed = keep.copy()
    allowed[[int(i[1:]) for i in skip]] = False
    order = [k for k in np.argsort(-scores, kind="stable") if allowed[k]]
    return [f"i{k:04d}" for k in order[:K]]


@pytest.mark.parametrize(
    ("where", "share"),
    [(None, 100), ({"bucket": {"lt": 60}}, 60), ({"bucket": {"lt": 5}}, 5)],
    ids=["walk", "filtered walk", "exact scan"],
)
def test_each_vector_gets_what_search_gives_it(
    store: EmbeddedStore, points: np.ndarray, where: dict[str, object] | None, share: int
) -> None:
    rng = np.random.default_rng(share)
    queries = list(rng.standard_normal((60, DIM)).astype(np.float32))
    ids = [f"i{k:04d}" for k in range(N)]
    # Short exclusions of different lengths, and two users past PER_USER (searched alone).
    excludes = [list(rng.choice(ids, size=k % 25, replace=False)) for k in range(58)]
    excludes += [list(rng.choice(ids, size=PER_USER + 50, replace=False)) for _ in range(2)]
    many = store.search_many(queries, n=K, where=where, excludes=excludes)
    keep = (np.arange(N) % 100) < share
    same = recalls = 0
    for q, skip, pairs in zip(queries, excludes, many, strict=True):
        one = [(h.id, h.score) for h in store.search(q, n=K, where=where, exclude=skip)]
        got = [i for i, _ in pairs]
        assert len(got) == K and not set(got) & set(skip)
        assert all(int(i[1:]) % 100 < share for i in got)
        assert [s for _, s in pairs] == sorted((s for _, s in pairs), reverse=True)
        recalls += len(set(got) & set(exact(points, q, keep, skip)))
        same += got == [i for i, _ in one]
        if len(skip) > PER_USER or share == 5:  # the same code path as `search`: the same
            assert got == [i for i, _ in one]
            assert [s for _, s in pairs] == pytest.approx([s for _, s in one])
    assert recalls / (K * len(queries)) >= 0.95
    assert same >= 0.9 * len(queries)


def test_no_vectors_and_mismatched_exclusions(store: EmbeddedStore) -> None:
    assert store.search_many([], n=K) == []
    with pytest.raises(ValueError, match="one exclusion list per vector"):
        store.search_many([np.ones(DIM, np.float32)], n=K, excludes=[[], []])
