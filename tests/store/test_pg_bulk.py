"""Bulk load into PostgreSQL (COPY, the HNSW indexes built after): the same store as item by
item upserts, refused on a store with items, all or nothing on bad input and on kill -9, and
used by `likewise copy`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest

from likewise.copy import copy_store
from likewise.errors import Conflict, InvalidInput
from likewise.items import Item
from likewise.store import Entry, Space, StoreInfo, open_store
from likewise.store.postgres import PostgresStore
from likewise.store.postgres.bulk import Batch

DIM = 16
N = 300
SIDE = Space("side", 4, "dot")


def _entries(lo: int, hi: int) -> list[Entry]:
    rng = np.random.default_rng(lo)
    vectors = rng.standard_normal((hi - lo, DIM)).astype(np.float32)
    return [
        Entry(
            Item(
                id=f"i{k:04d}",
                title=f"item {k}",
                metadata={"bucket": k % 10, "tags": ["even" if k % 2 == 0 else "odd"]},
            ),
            f"h{k}",
            vectors[k - lo],
        )
        for k in range(lo, hi)
    ]


def _side(entries: list[Entry]) -> dict[str, np.ndarray]:
    return {e.item.id: np.full(4, float(len(e.item.id)), np.float32) for e in entries[::3]}


def _batches(size: int = 100) -> Iterator[Batch]:
    for lo in range(0, N, size):
        entries = _entries(lo, min(N, lo + size))
        yield entries, {"side": _side(entries)}


def _new(url: str) -> PostgresStore:
    store = PostgresStore(url)
    store.initialize(StoreInfo("m", DIM))
    store.add_space(SIDE)
    return store


def _indexes(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes").fetchall()}


def test_a_bulk_load_makes_the_store_item_by_item_upserts_make(
    new_pg_database: object,
) -> None:
    make = new_pg_database
    assert callable(make)
    bulk_url, slow_url = make(), make()
    bulk, slow = _new(bulk_url), _new(slow_url)
    try:
        assert bulk.bulk_load(_batches()) == N
        for entries, others in _batches():
            slow.upsert(entries)
            slow.put_vectors("side", others["side"])
        assert {"items_hnsw", "hnsw_space_side"} <= _indexes(bulk_url)
        ids = [f"i{k:04d}" for k in range(N)]
        assert bulk.all_ids() == slow.all_ids() == ids
        assert bulk.hashes(ids) == slow.hashes(ids)
        assert [i.to_record() for i in bulk.get(ids)] == [i.to_record() for i in slow.get(ids)]
        got, want = bulk.vectors(ids), slow.vectors(ids)
        assert all(np.allclose(got[i], want[i], atol=1e-6) for i in ids)
        assert bulk.vectors(ids, space="side").keys() == slow.vectors(ids, space="side").keys()
        for where in ({"bucket": {"lt": 3}}, {"tags": "even"}, {"bucket": 7}):
            assert bulk.count(where) == slow.count(where)
            query = _entries(5, 6)[0].vector
            assert query is not None
            a = bulk.search(query, n=5, where=where)
            b = slow.search(query, n=5, where=where)
            assert [h.id for h in a] == [h.id for h in b]
        # Newest first, in load order, and a later upsert is newer still.
        assert [h.id for h in bulk.popular(n=2, newest=True)] == ["i0299", "i0298"]
        bulk.upsert(_entries(N, N + 1))
        assert bulk.popular(n=1, newest=True)[0].id == f"i{N:04d}"
    finally:
        bulk.close()
        slow.close()


def test_a_bulk_load_is_refused_on_a_store_with_items(pg_url: str) -> None:
    store = _new(pg_url)
    try:
        store.upsert(_entries(0, 1))
        with pytest.raises(Conflict) as caught:
            store.bulk_load(_batches())
        assert caught.value.field == "items"
        assert store.all_ids() == ["i0000"]
    finally:
        store.close()


def test_bad_input_part_way_loads_nothing(pg_url: str) -> None:
    def batches() -> Iterator[Batch]:
        yield from list(_batches())[:2]
        yield [Entry(Item(id="novector"), "h", None)], {}

    store = _new(pg_url)
    try:
        with pytest.raises(InvalidInput) as caught:
            store.bulk_load(batches())
        assert caught.value.field == "vector" and "novector" in str(caught.value)
        assert store.count() == 0
        assert {"items_hnsw", "hnsw_space_side"} <= _indexes(pg_url)  # the drop rolled back
        assert store.bulk_load(_batches()) == N  # and it can be done again
    finally:
        store.close()


LOADER = textwrap.dedent(
    """
    import sys, time
    from tests.store.test_pg_bulk import _batches
    from likewise.store.postgres import PostgresStore

    def slow():
        for k, batch in enumerate(_batches(50)):
            if k == 3:
                print("loading", flush=True)
                time.sleep(600)  # killed here, the transaction open
            yield batch

    PostgresStore(sys.argv[1]).bulk_load(slow())
    """
)


def test_kill_9_during_a_bulk_load_leaves_the_store_as_it_was(pg_url: str) -> None:
    store = _new(pg_url)
    store.upsert(_entries(N, N + 1))  # acknowledged before the load: kept
    store.delete([f"i{N:04d}"])
    store.close()
    proc = subprocess.Popen(
        [sys.executable, "-c", LOADER, pg_url],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([".", "src"])},
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"loading\n"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
        assert proc.stdout is not None
        proc.stdout.close()
    store = PostgresStore(pg_url)
    try:
        deadline = time.monotonic() + 30  # the server notices the lost client and rolls back
        while store.count() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.count() == 0
        assert {"items_hnsw", "hnsw_space_side"} <= _indexes(pg_url)
        assert store.bulk_load(_batches()) == N
    finally:
        store.close()


def test_likewise_copy_to_postgres_loads_in_bulk(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = open_store(str(tmp_path / "src"))
    source.initialize(StoreInfo("m", DIM))
    source.add_space(SIDE)
    for entries, others in _batches():
        source.upsert(entries)
        source.put_vectors("side", others["side"])
    source.close()
    loaded: list[int] = []
    upserts: list[int] = []
    bulk, upsert = PostgresStore.bulk_load, PostgresStore.upsert

    def bulk_load(self: PostgresStore, batches: Iterator[Batch]) -> int:
        loaded.append(bulk(self, batches))
        return loaded[-1]

    def item_by_item(self: PostgresStore, entries: list[Entry]) -> None:
        upserts.append(len(entries))
        upsert(self, entries)

    monkeypatch.setattr(PostgresStore, "bulk_load", bulk_load)
    monkeypatch.setattr(PostgresStore, "upsert", item_by_item)
    report = copy_store(str(tmp_path / "src"), pg_url)  # verified against the source
    assert loaded == [N] and report.counts["items"] == N
    assert upserts == []  # nothing went item by item
