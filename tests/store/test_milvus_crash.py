"""A `likewise ingest` killed between its PostgreSQL commit and its Milvus write leaves the
vectors queued in PostgreSQL; the next open sends them, and search finds every item."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
from tests.store.milvus_fixtures import PREFIX, empty_collections, milvus_server

from likewise.store.milvus import MilvusStore
from likewise.store.milvus.outbox import HOLD

__all__ = ["milvus_server"]


def test_a_process_killed_between_the_two_writes_is_repaired_at_the_next_open(
    tmp_path: Path, pg_url: str, milvus_server: str
) -> None:
    empty_collections(milvus_server)
    vectors = f"{milvus_server.replace('http://', 'milvus://')}/{PREFIX}"
    location = f"{pg_url}&vectors={vectors}"
    items = tmp_path / "items.jsonl"
    rows = [
        {"id": f"n{k}", "title": f"story {k} about rockets", "category": "news"} for k in range(5)
    ]
    items.write_text("".join(json.dumps(r) + "\n" for r in rows))
    marker = tmp_path / "held"
    likewise = [
        sys.executable,
        "-c",
        "import sys; from likewise.cli.main import main; sys.exit(main())",
    ]
    env = {**os.environ, HOLD: str(marker), "PYTHONPATH": os.pathsep.join(sys.path)}
    with (tmp_path / "stderr").open("wb") as errors:
        proc = subprocess.Popen(
            [*likewise, "--data", location, "ingest", str(items), "--model", "hashing-64"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    try:
        for _ in range(600):  # it reaches the hook once PostgreSQL has committed
            if marker.exists() or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert marker.exists(), (tmp_path / "stderr").read_text()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with psycopg.connect(pg_url) as conn:  # PostgreSQL has the items, queued for Milvus
        assert conn.execute("SELECT COUNT(*) FROM items").fetchone() == (5,)
        (queued,) = conn.execute("SELECT COUNT(*) FROM vectors_pending").fetchone() or (0,)
        assert queued >= 5
    store = MilvusStore(pg_url, f"{milvus_server}/{PREFIX}")  # the next open repairs
    try:
        assert store.stats()["spaces"]["text"]["vectors"] == 5
        assert store.stats()["vectors_pending"] == 0
        query = store.vector("n3")
        hits = store.search(query, n=5, where={"category": "news"})
        assert hits[0].id == "n3" and {h.id for h in hits} == {f"n{k}" for k in range(5)}
        assert np.isclose(hits[0].score, 1.0, atol=1e-5)
    finally:
        store.close()


def test_without_the_hook_nothing_stays_queued(pg_url: str, milvus_server: str) -> None:
    """The queue is emptied by the write itself, so the repair above had something to do."""
    empty_collections(milvus_server)
    from likewise.testing.contract import INFO, axis, entry

    store = MilvusStore(pg_url, f"{milvus_server}/{PREFIX}")
    try:
        store.initialize(INFO)
        store.upsert([entry("a", axis(0)), entry("b", axis(1))])
        store.delete(["b"])
        assert store.stats()["vectors_pending"] == 0
        assert [h.id for h in store.search(axis(1), n=5)] == ["a"]
    finally:
        store.close()
