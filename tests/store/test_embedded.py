"""The embedded store passes the shared contract, and survives what a real process meets."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from likewise.errors import ConfigError, StoreError
from likewise.events.model import parse_event
from likewise.items import Item
from likewise.store import EmbeddedStore, Entry, StoreInfo, open_store
from likewise.store.embedded.ann import EF_LADDER, AnnConfig
from likewise.testing import StoreContract
from likewise.testing.contract import INFO, axis, entry


class TestEmbeddedStore(StoreContract):
    @pytest.fixture
    def open_store(self, tmp_path: Path):  # type: ignore[no-untyped-def]
        return lambda: EmbeddedStore(tmp_path / "data")


class TestEmbeddedStoreThroughHnsw(StoreContract):
    """The same contract with every filtered query sent through the HNSW path."""

    @pytest.fixture
    def open_store(self, tmp_path: Path):  # type: ignore[no-untyped-def]
        return lambda: EmbeddedStore(
            tmp_path / "data", ann=AnnConfig(exact_below=0, exact_per_ef=0)
        )


def test_snapshot_is_used_and_caught_up(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    store.initialize(INFO)
    store.upsert([entry(f"i{k}", axis(k)) for k in range(20)])
    store.close()
    assert (tmp_path / "index" / "hnsw.faiss").exists()
    # A second writer adds and deletes without saving a snapshot (as a crash would leave it).
    other = EmbeddedStore(tmp_path)
    other.upsert([entry("late", axis(5, 0.01))])
    other.delete(["i5"])
    other._dirty = False  # simulate dying before close
    other._db.close()
    again = EmbeddedStore(tmp_path)
    assert again.search(axis(5, 0.01), n=1)[0].id == "late"
    assert "i5" not in {h.id for h in again.search(axis(5), n=5)}
    assert again.count() == 20
    again.close()


def test_calibration_picks_a_beam_that_reaches_the_target(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    # Random 32-d points: hard enough that a narrow beam misses (ef=16 gives recall ~0.85).
    data = rng.standard_normal((5000, 32)).astype(np.float32)
    info = StoreInfo("calibration", 32)
    store = EmbeddedStore(tmp_path)
    store.initialize(info)
    store.upsert([Entry(Item(id=f"v{k}"), "h", data[k]) for k in range(len(data))])
    store.close()  # calibrates on the way out and keeps the width in the snapshot
    again = EmbeddedStore(tmp_path, ann=AnnConfig(ef_search=8))
    index = again._spaces["text"].index
    assert index is not None and index.calibrated_at == 5000
    chosen = index.ef_search
    assert chosen in EF_LADDER
    # A check independent of the sample: fresh queries reach the target at that width.
    queries = rng.standard_normal((100, 32)).astype(np.float32)
    unit = data / np.linalg.norm(data, axis=1, keepdims=True)
    recall = []
    for q in queries:
        truth = {f"v{k}" for k in np.argsort(-(unit @ q))[:10]}
        recall.append(len(truth & {h.id for h in again.search(q, n=10)}) / 10)
    assert np.mean(recall) >= 0.95
    again.close()


def test_another_process_sees_writes_without_reopening(tmp_path: Path) -> None:
    reader = EmbeddedStore(tmp_path)
    reader.initialize(INFO)
    reader.upsert([entry("a", axis(0))])
    writer = EmbeddedStore(tmp_path)
    writer.upsert([entry("b", axis(3))])
    writer.close()
    assert reader.search(axis(3), n=1)[0].id == "b"
    reader.close()


def test_readers_run_while_one_thread_writes(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    store.initialize(INFO)
    store.upsert([entry(f"seed{k}", axis(k)) for k in range(8)])
    errors: list[BaseException] = []
    counts: list[int] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                hits = store.search(axis(1), n=5)
                assert len(hits) == 5 and hits[0].score >= hits[-1].score
                counts.append(store.count())
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for t in readers:
        t.start()
    for batch in range(20):
        store.upsert([entry(f"w{batch}-{k}", axis(k, 0.3)) for k in range(10)])
    stop.set()
    for t in readers:
        t.join()
    assert not errors
    assert counts == sorted(counts)  # readers never see a count go backwards
    assert store.count() == 8 + 200
    store.close()


def test_unknown_location_schemes_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown location scheme 'ftp'.*directory path"):
        open_store("ftp://x")
    with pytest.raises(ConfigError, match=r"likewise.Client\(url"):
        open_store("http://127.0.0.1:8000")


def test_an_unusable_location_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(ConfigError, match="not a directory"):
        EmbeddedStore(tmp_path / "file")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "likewise.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the store"):
        EmbeddedStore(tmp_path / "data")


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    EmbeddedStore(tmp_path).close()
    with sqlite3.connect(tmp_path / "likewise.db") as db:  # as a newer likewise would leave it
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 99"):
        EmbeddedStore(tmp_path)


_WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from likewise.store import EmbeddedStore
    from likewise.testing.contract import INFO, axis, entry
    store = EmbeddedStore(sys.argv[1])
    if store.info is None:
        store.initialize(INFO)
    for batch in range(10_000):
        store.upsert([entry(f"b{batch}-{k}", axis(batch + k, 0.5), batch=batch) for k in range(50)])
        print(batch, flush=True)  # acknowledged: the call returned
    """
)


@pytest.mark.slow
def test_kill_9_mid_ingest_loses_nothing_acknowledged(tmp_path: Path) -> None:
    acknowledged = -1
    with subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while acknowledged < 30 and time.monotonic() < deadline:
            acknowledged = int(proc.stdout.readline())
        os.kill(proc.pid, signal.SIGKILL)
    assert acknowledged >= 30, "the writer did not get going"

    store = EmbeddedStore(tmp_path)
    ids = set(store.all_ids())
    for batch in range(acknowledged + 1):
        assert {f"b{batch}-{k}" for k in range(50)} <= ids
    # The index agrees with SQLite: same count, and every item finds itself by its own vector.
    assert store.count() == len(ids)
    assert len(ids) % 50 == 0  # batches are all-or-nothing
    for item_id in sorted(ids)[::7]:
        batch = int(item_id[1:].split("-")[0])
        vector = store.vector(item_id)
        assert np.allclose(vector, axis(batch + int(item_id.split("-")[1]), 0.5))
        (hit,) = store.search(vector, n=1, where={"batch": batch})
        assert hit.score == pytest.approx(1.0, abs=1e-4)
    store.close()


def test_a_store_from_before_list_timings_gains_the_column(tmp_path: Path) -> None:
    import sqlite3

    from likewise.tracking import Impression

    EmbeddedStore(tmp_path).close()
    with sqlite3.connect(tmp_path / "likewise.db") as db:  # the impressions table of 0.x
        db.execute("DROP TABLE impressions")
        db.execute(
            "CREATE TABLE impressions (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, "
            "strategy TEXT NOT NULL, items TEXT NOT NULL, context TEXT NOT NULL, at REAL NOT NULL)"
        )
        db.execute("INSERT INTO impressions VALUES ('old', 'u', 'popular', '[\"a\"]', '{}', 1.0)")
    store = EmbeddedStore(tmp_path)
    try:
        store.log_impressions([Impression("new", "u", "ema", ["b"], ms=3.0)])
        got = store.activity(0.0)
        assert got.latency_ms == {"ema": [3.0]} and got.items_shown == 2
    finally:
        store.close()


def test_two_openers_of_a_new_store_cannot_both_initialise_it(tmp_path: Path) -> None:
    first, second = EmbeddedStore(tmp_path), EmbeddedStore(tmp_path)  # both see it empty
    try:
        first.initialize(StoreInfo("four", 4))
        first.upsert([Entry(Item(id="a"), "h", np.ones(4, dtype=np.float32))])
        with pytest.raises(StoreError, match="already initialised for four"):
            second.initialize(StoreInfo("eight", 8))
        assert second.info == StoreInfo("four", 4)  # it caught up instead
        assert [h.id for h in second.search(np.ones(4, dtype=np.float32), n=1)] == ["a"]
    finally:
        first.close()
        second.close()


def test_a_reembed_in_another_process_is_seen(tmp_path: Path) -> None:
    first, second = EmbeddedStore(tmp_path), EmbeddedStore(tmp_path)
    try:
        first.initialize(StoreInfo("four", 4))
        first.upsert([Entry(Item(id="a"), "h", np.ones(4, dtype=np.float32))])
        assert second.count() == 1
        first.replace_all(
            StoreInfo("eight", 8), [Entry(Item(id="a"), "h2", np.ones(8, np.float32))]
        )
        assert second.info == StoreInfo("eight", 8)
        assert [h.id for h in second.search(np.ones(8, dtype=np.float32), n=1)] == ["a"]
    finally:
        first.close()
        second.close()


def test_a_snapshot_without_titles_reads_them_at_open(tmp_path: Path) -> None:
    import pickle

    store = EmbeddedStore(tmp_path)
    store.initialize(INFO)
    store.upsert([entry("a", axis(0)), entry("b", axis(1))])
    store.delete(["b"])
    store.close()
    state_file = tmp_path / "index" / "state.pkl"
    state = pickle.loads(pickle.loads(state_file.read_bytes())["payload"])
    del state["titles"]  # as likewise 0.1 wrote it (unsealed: before digests were kept)
    state_file.write_bytes(pickle.dumps(state))
    again = EmbeddedStore(tmp_path)
    try:
        assert again.titles(["a", "b"]) == {"a": "title a"}
        assert again.fetch(["a"], details=())["a"].title == "title a"
        assert [h.id for h in again.search(axis(0), n=1)] == ["a"]  # the snapshot was used
    finally:
        again.close()


def test_fetched_fields_follow_a_reembed_that_renumbers_labels(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    store.initialize(INFO)
    try:
        store.upsert([entry("a", axis(0), category="x"), entry("b", axis(1), category="x")])
        assert store.fetch(["a"])["a"].fields == {"category": "x", "tags": []}  # kept parsed
        store.upsert([entry("a", None, category="y")])  # a new label for the new metadata
        store.replace_all(INFO, [entry("a", axis(0)), entry("b", axis(1))])  # a gets label 0
        assert store.fetch(["a"])["a"].fields == {"category": "y", "tags": []}
    finally:
        store.close()


def test_an_item_deleted_while_fetched_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, other = EmbeddedStore(tmp_path), EmbeddedStore(tmp_path)
    store.initialize(INFO)
    try:
        store.upsert([entry("a", axis(0), category="x"), entry("b", axis(1))])
        read = store._by_id

        def deleted_in_between(ids: list[str], columns: str) -> list[object]:
            other.delete(["a"])  # another process, between the index read and the records
            return read(ids, columns)

        monkeypatch.setattr(store, "_by_id", deleted_in_between)
        got = store.fetch(["a", "b"])
        assert list(got) == ["b"] and got["b"].fields is not None
    finally:
        store.close()
        other.close()


def test_only_a_catalog_write_makes_the_others_catch_up(tmp_path: Path) -> None:
    """An event (or any write that leaves items, vectors and spaces alone) is not followed
    by a catch-up of the indexes in the other stores on the folder; a catalog write is."""
    reader, writer = EmbeddedStore(tmp_path), EmbeddedStore(tmp_path)
    try:
        reader.initialize(INFO)
        reader.upsert([entry("a", axis(0))])
        assert [h.id for h in writer.search(axis(0), n=1)] == ["a"]
        synced = []
        sync = reader._sync
        reader._sync = lambda **kw: synced.append(1) or sync(**kw)  # type: ignore[method-assign]
        event = parse_event({"user_id": "u", "item_id": "a", "type": "view"})
        writer.record([event], [1.0], lambda state, mine: (state, []))
        assert reader.popular(n=1)[0].id == "a"  # the event is read
        assert synced == []
        writer.upsert([entry("b", axis(3))])
        assert reader.search(axis(3), n=1)[0].id == "b"
        assert synced == [1]
    finally:
        reader.close()
        writer.close()
