"""The index snapshot opens memory-mapped, grows after open, and keeps its seal cheap.

A 1M-vector snapshot is ~1.8 GB: opening it must not copy it (faiss maps it) nor hash it with
blake2b (7 s). These tests check what that must not break: a mapped index takes writes (faiss
aborts the process if one reaches a mapped index), a save that replaces the mapped file under
an open store changes nothing it answers, the checksum notices any changed word, and a
snapshot sealed by an older likewise (blake2b) still opens without a rebuild.
"""

from __future__ import annotations

import logging
import pickle
import threading
from contextlib import closing
from pathlib import Path

import faiss
import numpy as np
import pytest

from likewise.store import EmbeddedStore, StoreInfo
from likewise.store.embedded.ann import VectorIndex, threads
from likewise.store.embedded.checksum import checksum
from likewise.store.embedded.space import _digest
from likewise.testing.contract import entry

DIM = 16
SPACE_LOG = "likewise.store.embedded.space"


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    out = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def _store(path: Path, n: int = 400) -> np.ndarray:
    data = _vectors(n)
    store = EmbeddedStore(path)
    store.initialize(StoreInfo("snapshot", DIM))
    store.upsert([entry(f"i{k}", data[k]) for k in range(n)])
    store.close()
    return data


def _top(store: EmbeddedStore, q: np.ndarray) -> list[str]:
    return [h.id for h in store.search(q, n=5)]


def test_an_opened_snapshot_is_mapped_and_takes_writes(tmp_path: Path) -> None:
    data = _store(tmp_path)
    store = EmbeddedStore(tmp_path)
    try:
        index = store._spaces["text"].index
        assert index._mapped is not None, "the snapshot was copied, not mapped"
        before = _top(store, data[3])
        store.upsert([entry("new", data[3] * 0.999 + data[4] * 0.001)])
        assert index._mapped is None or store._spaces["text"].index._mapped is None
        assert _top(store, data[3])[:2] in (["i3", "new"], ["new", "i3"])
        assert [i for i in _top(store, data[3]) if i != "new"] == before[:4]
    finally:
        store.close()
    again = EmbeddedStore(tmp_path)
    try:
        assert again.count() == 401 and "new" in _top(again, data[3])
    finally:
        again.close()


def test_a_save_that_replaces_the_mapped_file_changes_nothing_answered(tmp_path: Path) -> None:
    """Another opener saves a new snapshot over the file this one has mapped, then this one
    writes: the copy it makes for the write is of the file it mapped, not the new one."""
    data = _store(tmp_path)
    first = EmbeddedStore(tmp_path)
    second = EmbeddedStore(tmp_path)
    try:
        second.upsert([entry(f"late{k}", v) for k, v in enumerate(_vectors(50, seed=9))])
        second.close()  # replaces index/hnsw.faiss
        first.upsert([entry("mine", data[7])])  # first copies its mapped index, then catches up
        assert first.count() == 451
        assert {"i7", "mine"} <= set(_top(first, data[7]))
        late = _vectors(50, seed=9)
        assert _top(first, late[3])[0] == "late3"
        first.close()
        with closing(EmbeddedStore(tmp_path)) as third:
            assert third.count() == 451 and _top(third, late[3])[0] == "late3"
    finally:
        first._close_connections()


def test_the_checksum_notices_any_changed_word(tmp_path: Path) -> None:
    path = tmp_path / "graph"
    blob = bytearray(np.random.default_rng(3).bytes(5 * (1 << 22) + 13))  # several chunks + tail
    path.write_bytes(bytes(blob))
    seal = checksum(b"state", path)
    assert checksum(b"state", path) == seal
    assert checksum(b"statf", path) != seal
    for at in (0, 7, 1 << 22, 3 * (1 << 22) + 5, len(blob) - 1):
        changed = bytearray(blob)
        changed[at] ^= 0x01
        path.write_bytes(bytes(changed))
        assert checksum(b"state", path) != seal, at
    swapped = bytearray(blob)
    swapped[0:8], swapped[8:16] = blob[8:16], blob[0:8]
    path.write_bytes(bytes(swapped))
    assert checksum(b"state", path) != seal
    path.write_bytes(bytes(blob[:-1]))
    assert checksum(b"state", path) != seal


def test_a_snapshot_sealed_by_blake2b_still_opens_without_a_rebuild(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _store(tmp_path)
    state_file, graph = tmp_path / "index" / "state.pkl", tmp_path / "index" / "hnsw.faiss"
    state = pickle.loads(pickle.loads(state_file.read_bytes())["payload"])
    state["ids"] = [f"old-{i}" for i in state["ids"]]  # shows in the answers if it is used
    payload = pickle.dumps(state)
    state_file.write_bytes(pickle.dumps({"digest": _digest(payload, graph), "payload": payload}))
    with caplog.at_level(logging.WARNING, logger=SPACE_LOG), _opened(tmp_path) as store:
        assert _top(store, _vectors(400)[5])[0] == "old-i5"
    assert [r for r in caplog.records if r.name == SPACE_LOG] == []
    flipped = bytearray(graph.read_bytes())
    flipped[len(flipped) // 2] ^= 0x55
    graph.write_bytes(bytes(flipped))
    with caplog.at_level(logging.WARNING, logger=SPACE_LOG), _opened(tmp_path) as store:
        assert _top(store, _vectors(400)[5])[0] == "i5"  # rebuilt from the rows
    assert any("digest" in r.getMessage() for r in caplog.records if r.name == SPACE_LOG)


def test_a_query_runs_on_one_thread_and_leaves_the_callers_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OpenMP's thread count is per thread: a search sets one for itself and restores it."""
    index = VectorIndex(DIM, "cosine")
    index.add(_vectors(300), np.ones(300, bool))
    before, fresh = faiss.omp_get_max_threads(), _in_a_new_thread()
    faiss.omp_set_num_threads(2)
    try:
        during: list[int] = []
        search = index._search
        monkeypatch.setattr(
            index, "_search", lambda *a: during.append(faiss.omp_get_max_threads()) or search(*a)
        )
        assert len(index.search(_vectors(1, seed=5)[0], 5, np.arange(300) < 30)[0]) == 5
        assert during == [1] and faiss.omp_get_max_threads() == 2
        with threads(1):
            assert faiss.omp_get_max_threads() == 1
            assert _in_a_new_thread() == fresh  # the setting stayed in this thread
    finally:
        faiss.omp_set_num_threads(before)


def _in_a_new_thread() -> int:
    """The OpenMP thread count a thread that never set one starts with."""
    seen: list[int] = []
    worker = threading.Thread(target=lambda: seen.append(faiss.omp_get_max_threads()))
    worker.start()
    worker.join()
    return seen[0]


def _opened(path: Path) -> closing[EmbeddedStore]:
    return closing(EmbeddedStore(path))


def test_a_snapshot_without_filtered_beams_measures_them_at_the_next_close(
    tmp_path: Path,
) -> None:
    """A snapshot saved before the beams by filter share were measured opens as it is (the
    1/sqrt(share) rule) and gains them, and the new seal, when the store closes."""
    _store(tmp_path, n=1_500)
    state_file, graph = tmp_path / "index" / "state.pkl", tmp_path / "index" / "hnsw.faiss"
    state = pickle.loads(pickle.loads(state_file.read_bytes())["payload"])
    del state["by_share"]
    payload = pickle.dumps(state)
    state_file.write_bytes(pickle.dumps({"digest": _digest(payload, graph), "payload": payload}))
    store = EmbeddedStore(tmp_path)
    assert store._spaces["text"].index.by_share == {}
    store.close()
    sealed = pickle.loads(state_file.read_bytes())
    assert "checksum" in sealed
    assert set(pickle.loads(sealed["payload"])["by_share"]) == {0.5, 0.1, 0.02}
