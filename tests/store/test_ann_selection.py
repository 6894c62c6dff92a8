"""A filter's selection is kept between queries (selection.py) and never outlives a write.

At 1M labels, deriving a filter's live labels and bitmap for every query cost ~0.5 ms, and a
rare filter's exact scan read rows scattered over the index. What keeping them must not break:
a deleted or changed item leaves a kept filter's answers at once, an exclusion list does not
change what the filter keeps, and the flat copy of a small selection answers as the scan does.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from likewise.filters import parse_where
from likewise.store import EmbeddedStore, StoreInfo
from likewise.store.embedded import selection
from likewise.store.embedded.ann import AnnConfig
from likewise.testing.contract import entry

DIM = 16
N = 1_500


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    out = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture(params=["float32", "fp16"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> EmbeddedStore:
    config = AnnConfig(storage=request.param)
    made = EmbeddedStore(tmp_path, ann=config)
    made.initialize(StoreInfo("selection", DIM))
    data = _vectors(N)
    made.upsert([entry(f"i{k}", data[k], metadata={"b": k % 50}) for k in range(N)])
    request.addfinalizer(made.close)
    return made


def _exact(store: EmbeddedStore, q: np.ndarray, where: dict[str, object]) -> list[str]:
    ids = store.matching([f"i{k}" for k in range(N)], where)
    vectors = store.vectors(ids)
    return sorted(ids, key=lambda i: -float(vectors[i] @ q))[:5]


def test_a_filter_hands_out_one_read_only_mask_until_the_index_grows(
    store: EmbeddedStore,
) -> None:
    text = store._spaces["text"]
    node = parse_where({"b": 3})
    assert node is not None
    first = text.mask(node)
    assert text.mask(parse_where({"b": 3})) is first  # type: ignore[arg-type]
    assert not first.flags.writeable
    store.upsert([entry("new", _vectors(1, seed=9)[0], metadata={"b": 3})])
    grown = text.mask(node)
    assert grown is not first and grown[text.label_of["new"]]


@pytest.mark.parametrize("below", [2, 40], ids=["exact scan", "filtered walk"])
def test_a_kept_filter_forgets_deleted_and_changed_items_at_once(
    store: EmbeddedStore, below: int
) -> None:
    where = {"b": {"lt": below}}
    q = _vectors(1, seed=5)[0]
    before = [h.id for h in store.search(q, n=5, where=where)]
    assert before == _exact(store, q, where)
    assert [h.id for h in store.search(q, n=5, where=where)] == before  # kept, same answer
    store.delete([before[0]])  # a kill alone: the filter's mask stays the same array
    gone = [h.id for h in store.search(q, n=5, where=where)]
    assert before[0] not in gone and gone == _exact(store, q, where)
    moved = before[1]
    store.upsert([entry(moved, store.vector(moved), metadata={"b": 49})])  # out of the filter
    after = [h.id for h in store.search(q, n=5, where=where)]
    assert before[0] not in after and moved not in after
    assert after == _exact(store, q, where)


def test_an_exclusion_list_leaves_the_kept_filter_as_it_was(store: EmbeddedStore) -> None:
    where = {"b": {"lt": 2}}
    q = _vectors(1, seed=6)[0]
    top = [h.id for h in store.search(q, n=5, where=where)]
    without = [h.id for h in store.search(q, n=5, where=where, exclude=[top[0]])]
    assert top[0] not in without
    assert [h.id for h in store.search(q, n=5, where=where)] == top


def test_the_flat_copy_answers_as_the_scattered_scan(
    store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = {"b": {"lt": 3}}  # 90 labels: scanned exactly
    queries = _vectors(10, seed=7)
    copied = [store.search(q, n=5, where=where) for q in queries]
    index = store._spaces["text"].index
    kept = [s for _, s in index._selections._by_mask.values()]
    assert len(kept) == 1 and kept[0].subset is not None  # the copy really answered
    index._selections.clear()
    monkeypatch.setattr(selection, "SUBSET_BYTES", 0)  # no copy: the scattered scan
    scanned = [store.search(q, n=5, where=where) for q in queries]
    assert [s.subset for _, s in index._selections._by_mask.values()] == [None]
    for a, b in zip(copied, scanned, strict=True):
        assert [h.id for h in a] == [h.id for h in b]
        assert np.allclose([h.score for h in a], [h.score for h in b], atol=1e-6)


@pytest.fixture
def switching() -> Iterator[None]:
    """Threads switch as often as the interpreter allows, so a race shows in a few searches."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_concurrent_searches_with_many_filters_share_the_kept_selections(
    store: EmbeddedStore, switching: None
) -> None:
    """Searches run together under the store's read lock, each adding selections and flat
    copies: one iterating the kept selections while another added one raised "dictionary
    changed size during iteration". A new filter nearly every query keeps them churning."""
    failures: list[BaseException] = []

    def run(seed: int) -> None:
        rng = np.random.default_rng(seed)
        queries = _vectors(40, seed=seed)
        try:
            for k in range(800):
                low = float(rng.uniform(0, 48))  # a new filter nearly every time: 30-60 labels
                store.search(queries[k % 40], n=5, where={"b": {"gt": low, "lt": low + 1.5}})
        except BaseException as exc:  # reported below, from the main thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    q = _vectors(1, seed=11)[0]
    assert [h.id for h in store.search(q, n=5, where={"b": 7})] == _exact(store, q, {"b": 7})
