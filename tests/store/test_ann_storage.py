"""fp16 vector storage: the store contract holds, a store opens as it was built, a bad value is
refused by name, and the build beam widens once the index is large.

fp16 halves the vectors' memory (1.5 GB -> 0.77 GB at 1M x 384). What it must not break: every
read of a vector still gives float32 (recommend, related items and the digest read them), the
exact and filtered paths score from the same stored numbers, and the choice made when a store
is created survives reopening with another setting, a lost snapshot and a rebuild.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import typing
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from likewise.config import Settings
from likewise.config.index import VectorStorage
from likewise.errors import ConfigError, InvalidInput
from likewise.store import EmbeddedStore, StoreInfo, open_store
from likewise.store.embedded import storage
from likewise.store.embedded.ann import AnnConfig, VectorIndex
from likewise.store.embedded.storage import STORAGES, storage_of
from likewise.testing import StoreContract
from likewise.testing.contract import entry

DIM = 32
FP16 = AnnConfig(storage="fp16")


class TestFp16Store(StoreContract):
    """The whole store contract on fp16 storage (small filters scanned exactly)."""

    @pytest.fixture
    def open_store(self, tmp_path: Path):  # type: ignore[no-untyped-def]
        return lambda: EmbeddedStore(tmp_path / "data", ann=FP16)


class TestFp16StoreThroughHnsw(StoreContract):
    """The same, with every filtered query sent through the filtered HNSW walk."""

    @pytest.fixture
    def open_store(self, tmp_path: Path):  # type: ignore[no-untyped-def]
        config = AnnConfig(storage="fp16", exact_below=0, exact_per_ef=0)
        return lambda: EmbeddedStore(tmp_path / "data", ann=config)


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    out = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def _build(path: Path, storage: str, n: int = 300) -> np.ndarray:
    data = _vectors(n)
    store = open_store(str(path), vector_storage=storage)
    store.initialize(StoreInfo("storage", DIM))
    store.upsert(
        [entry(f"i{k}", data[k], metadata={"bucket": k % 10}) for k in range(n)]  # type: ignore[arg-type]
    )
    store.close()
    return data


def _kind(store: EmbeddedStore) -> str:
    return storage_of(store._spaces["text"].index.index)


def test_an_fp16_store_reopens_as_fp16_whatever_the_setting(tmp_path: Path) -> None:
    data = _build(tmp_path, "fp16")
    store = open_store(str(tmp_path))  # the default setting is float32
    try:
        assert isinstance(store, EmbeddedStore) and _kind(store) == "fp16"
        vector = store.vector("i7")
        assert vector is not None and vector.dtype == np.float32
        assert np.abs(vector - data[7]).max() < 1e-3
        assert not np.array_equal(vector, data[7])  # rounded: fp16 is really what is kept
        fetched = store.vectors(["i1", "i2"])
        assert {v.dtype for v in fetched.values()} == {np.dtype(np.float32)}
        store.upsert([entry("new", data[0])])  # a write to the mapped fp16 snapshot
        assert _kind(store) == "fp16"
        assert store.search(data[0], n=2)[0].id in {"i0", "new"}
    finally:
        store.close()
    shutil.rmtree(tmp_path / "index")  # the snapshot lost: rebuilt from the rows, as built
    again = open_store(str(tmp_path))
    try:
        assert isinstance(again, EmbeddedStore) and _kind(again) == "fp16"
    finally:
        again.close()


def test_a_float32_store_stays_float32_when_opened_with_fp16(tmp_path: Path) -> None:
    data = _build(tmp_path, "float32")
    store = open_store(str(tmp_path), vector_storage="fp16")
    try:
        assert isinstance(store, EmbeddedStore) and _kind(store) == "float32"
        assert np.array_equal(store.vector("i3"), data[3])
    finally:
        store.close()


@pytest.mark.parametrize("where", [None, {"bucket": 3}], ids=["unfiltered", "filtered"])
def test_fp16_finds_and_scores_what_float32_does(tmp_path: Path, where: object) -> None:
    data = _build(tmp_path / "a", "float32")
    _build(tmp_path / "b", "fp16")
    queries = _vectors(20, seed=1)
    exact, half = open_store(str(tmp_path / "a")), open_store(str(tmp_path / "b"))
    try:
        for q in queries:
            a = exact.search(q, n=5, where=where)  # type: ignore[arg-type]
            b = half.search(q, n=5, where=where)  # type: ignore[arg-type]
            assert [h.id for h in a] == [h.id for h in b]
            assert np.allclose([h.score for h in a], [h.score for h in b], atol=1e-3)
            first = int(a[0].id[1:])
            assert a[0].score == pytest.approx(float(data[first] @ q), abs=1e-5)
    finally:
        exact.close()
        half.close()


def test_a_bad_storage_is_refused_by_name_and_makes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="vector_storage") as caught:
        open_store(str(tmp_path / "new"), vector_storage="fp8")
    assert caught.value.field == "vector_storage"
    assert not (tmp_path / "new").exists()
    with pytest.raises(ConfigError, match="vector_storage") as caught:
        Settings(vector_storage="fp8")
    assert caught.value.field == "vector_storage"
    with pytest.raises(ConfigError, match="embedded store") as caught:
        open_store("postgresql://nobody@127.0.0.1:1/none", vector_storage="fp16")
    assert caught.value.field == "vector_storage"


def test_the_setting_offers_what_the_store_knows() -> None:
    assert typing.get_args(VectorStorage) == STORAGES
    assert Settings(vector_storage="fp16").store.vector_storage == "fp16"
    assert Settings().store.vector_storage == "float32"


def test_the_build_beam_widens_once_the_index_is_large() -> None:
    config = AnnConfig(wider_from=300)
    index = VectorIndex(DIM, "cosine", config)
    data = _vectors(600)
    index.add(data[:200], np.ones(200, bool))
    assert index.index.hnsw.efConstruction == config.ef_construction
    index.add(data[200:400], np.ones(200, bool))  # a batch taking it to 400: the wider beam
    assert index.index.hnsw.efConstruction == 2 * config.ef_construction
    assert AnnConfig().construction_ef(10**6) == 128 and AnnConfig().construction_ef(10**4) == 64


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_an_exact_scan_of_fp16_in_blocks_finds_the_exact_top(
    metric: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "_BLOCK", 700)  # several blocks, merged
    data = _vectors(3_000) * (1 + np.arange(3_000, dtype=np.float32)[:, None] % 3)
    index = VectorIndex(DIM, metric, FP16)  # type: ignore[arg-type]
    index.add(data, np.ones(len(data), bool))
    labels = np.arange(0, 3_000, 2, dtype=np.int64)  # every other label
    for q in _vectors(10, seed=3):
        found, scores = index._exact(q[None, :], 10, labels)
        rows = data[labels]
        if metric == "euclidean":
            exact = -np.linalg.norm(rows - q, axis=1)
        else:
            exact = rows @ q / np.linalg.norm(rows, axis=1)
        assert list(found) == list(labels[np.argsort(-exact, kind="stable")[:10]])
        assert np.allclose(scores, np.sort(exact)[::-1][:10], atol=2e-3)


def test_a_snapshot_of_another_kind_is_rebuilt_from_the_rows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = _build(tmp_path, "fp16")
    with closing(sqlite3.connect(tmp_path / "likewise.db")) as db, db:
        db.execute("UPDATE meta SET value = 'float32' WHERE key = 'vector_storage'")
    with caplog.at_level(logging.WARNING, logger="likewise.store.embedded.space"):
        store = open_store(str(tmp_path))
    try:
        assert "stores another kind" in caplog.text
        assert isinstance(store, EmbeddedStore) and _kind(store) == "float32"
        assert np.array_equal(store.vector("i5"), data[5])  # the rows' float32, not fp16's
    finally:
        store.close()


def test_the_engine_makes_a_new_store_with_the_storage_setting(tmp_path: Path) -> None:
    from likewise import Engine

    settings = Settings(vector_storage="fp16")
    with Engine.open(str(tmp_path / "d"), model="hashing-64", settings=settings) as engine:
        engine.add_items([{"id": "a", "title": "moon rocket"}, {"id": "b", "title": "pasta"}])
        assert _kind(typing.cast(EmbeddedStore, engine.store)) == "fp16"
        assert engine.search("moon", n=1)[0].id == "a"
    with Engine.open(str(tmp_path / "d")) as again:  # the default setting: still fp16
        assert _kind(typing.cast(EmbeddedStore, again.store)) == "fp16"


@pytest.mark.parametrize("metric", ["euclidean", "dot"])
def test_a_value_fp16_cannot_keep_is_refused_by_name_and_writes_nothing(
    tmp_path: Path, metric: str
) -> None:
    """Past +-65504 float16 keeps infinity: the item left euclidean searches and scored
    infinity by dot. Refused at the write, which stores nothing."""
    store = EmbeddedStore(tmp_path, ann=FP16)
    try:
        store.initialize(StoreInfo("fp16-range", 4, metric))  # type: ignore[arg-type]
        fine = np.array([1, 2, 3, 4], np.float32)
        big = np.array([7e4, 0, 0, 0], np.float32)
        with pytest.raises(InvalidInput, match=r"'big'.*fp16") as refused:
            store.upsert([entry("ok", fine), entry("big", big)])
        assert refused.value.field == "vector"
        assert store.get(["ok", "big"]) == []
        store.upsert([entry("ok", fine), entry("edge", np.array([65504, 0, 0, 0], np.float32))])
        assert [h.id for h in store.search(fine, n=5)] != []
        assert np.isfinite(store.vector("edge")).all()
    finally:
        store.close()


def test_a_cosine_fp16_store_keeps_any_size_of_vector(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path, ann=FP16)
    try:
        store.initialize(StoreInfo("fp16-cosine", 4))
        store.upsert([entry("big", np.array([7e4, 0, 0, 0], np.float32))])
        assert np.allclose(store.vector("big"), [1, 0, 0, 0])
    finally:
        store.close()
