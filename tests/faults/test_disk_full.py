"""A full disk under the embedded store: a clean error, nothing half-written, and the same
engine (or server) works again once space is freed, without a restart.

The disk is a real tmpfs filled to the last page (`small_disk`), so SQLite meets ENOSPC as it
would in production. Each write is one transaction: an event batch is all or nothing; an
ingest is durable in batches of `batch_size`, so a full disk keeps the batches written before
it and none of the one it stopped, and a second run finishes the rest.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient
from tests.faults.conftest import SmallDisk

from likewise import Engine, Settings
from likewise.errors import StoreFull, StoreUnavailable
from likewise.service import create_app
from likewise.store.embedded.errors import sqlite_error
from likewise.store.postgres.errors import postgres_error

BATCH = 100  # items per durable write
OLD = [{"id": f"old{k}", "title": f"stored item {k}", "tags": ["old"]} for k in range(150)]
# Long texts: a few batches of these outgrow whatever room the WAL file has kept.
NEW = [
    {
        "id": f"new{k:04}",
        "title": f"new item {k}",
        "body": " ".join(f"w{k}x{j}" for j in range(300)),
    }
    for k in range(1500)
]


def _open(disk: SmallDisk) -> Engine:
    settings = Settings(batch_size=BATCH)
    return Engine.open(str(disk.path / "data"), model="hashing-64", settings=settings)


def _state(engine: Engine) -> dict[str, Any]:
    """What a half-written write would change: the catalog, its index, the event log, the
    profiles and the lists made from them."""
    stats = engine.stats()
    return {
        "ids": engine.ids(),
        "count": engine.count(),
        "events": stats["events"],
        "profiles": stats["profiles"],
        "profile": engine.profile("u1"),
        "seen": engine.seen("u1"),
        "popular": [h.id for h in engine.popular(n=20)],
        "search": [(h.id, round(h.score, 5)) for h in engine.search("stored item 7", n=5)],
    }


def _events(user: str, n: int) -> list[dict[str, Any]]:
    context = {"note": "x" * 2000}  # a large context: the batch needs room in the log
    return [
        {"user_id": user, "item_id": f"old{k % len(OLD)}", "type": "click", "context": context}
        for k in range(n)
    ]


@pytest.fixture
def engine(small_disk: SmallDisk) -> Any:
    engine = _open(small_disk)
    engine.add_items(OLD)
    engine.record_many(_events("u1", 20))
    yield engine
    engine.close()


def test_ingest_on_a_full_disk_keeps_whole_batches_and_resumes(
    engine: Engine, small_disk: SmallDisk
) -> None:
    before = _state(engine)
    small_disk.fill()

    with pytest.raises(StoreUnavailable) as raised:
        engine.add_items(NEW)
    assert raised.value.code == "store_full"
    assert "disk under the store is full" in str(raised.value)

    after = _state(engine)
    kept = [i for i in after["ids"] if i.startswith("new")]
    assert len(kept) % BATCH == 0 and len(kept) < len(NEW)  # whole batches, not all of them
    assert kept == [i["id"] for i in NEW[: len(kept)]]  # in order: a rerun resumes
    assert after["count"] == len(OLD) + len(kept)  # the index holds what SQLite holds
    assert engine.vectors([i["id"] for i in NEW[len(kept) :]]) == {}
    assert {k: v for k, v in after.items() if k not in ("ids", "count")} == {
        k: v for k, v in before.items() if k not in ("ids", "count")
    }

    small_disk.free()  # the same engine, no restart
    report = engine.add_items(NEW)
    assert (report.new, report.unchanged) == (len(NEW) - len(kept), len(kept))
    assert engine.count() == len(OLD) + len(NEW)
    found = engine.search_vector(engine.vectors(["new1499"])["new1499"], n=1)
    assert found[0].id == "new1499"


def test_an_event_batch_on_a_full_disk_is_all_or_nothing(
    engine: Engine, small_disk: SmallDisk
) -> None:
    before = _state(engine)
    small_disk.fill()

    with pytest.raises(StoreUnavailable) as raised:
        engine.record_many(_events("u1", 3000) + _events("u2", 10))
    assert raised.value.code == "store_full"
    assert _state(engine) == before  # not one event, profile or popularity change kept
    assert engine.seen("u2") == []

    small_disk.free()
    report = engine.record_many(_events("u1", 3000) + _events("u2", 10))
    assert report.accepted == 3010
    assert engine.stats()["events"] == before["events"] + 3010
    assert engine.seen("u2") == [f"old{k}" for k in range(10)]


def test_the_service_answers_a_full_disk_with_a_503_and_recovers(
    engine: Engine, small_disk: SmallDisk
) -> None:
    before = _state(engine)
    client = TestClient(create_app(Settings(), engine=engine))
    requests: list[tuple[str, str, Any]] = [
        ("POST", "/v1/events", _events("u1", 3000)),
        ("POST", "/v1/items:batch", NEW),
    ]
    small_disk.fill()
    for method, path, body in requests:
        response = client.request(method, path, json=body)
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "30"
        error = response.json()["error"]
        assert error["code"] == "store_full" and "full" in error["message"]
    state = _state(engine)
    kept = [i for i in state["ids"] if i.startswith("new")]
    assert len(kept) % BATCH == 0 and state["count"] == len(OLD) + len(kept)
    assert state["events"] == before["events"] and state["profile"] == before["profile"]
    assert client.get("/v1/items/old3/similar").status_code == 200  # reads still answer

    small_disk.free()
    for method, path, body in requests:
        assert client.request(method, path, json=body).status_code == 200
    assert engine.count() == len(OLD) + len(NEW)
    assert engine.stats()["events"] == before["events"] + 3000


def test_likewise_ingest_on_a_full_disk_prints_one_error_and_a_rerun_finishes(
    small_disk: SmallDisk, tmp_path: Path
) -> None:
    """The command in its own process: one `error:` line, exit 2, then a rerun completes."""
    data = small_disk.path / "data"
    with Engine.open(str(data), model="hashing-64") as engine:
        engine.add_items(OLD)
    source = tmp_path / "items.jsonl"  # off the small disk
    source.write_text("".join(json.dumps(r) + "\n" for r in NEW))
    command = [sys.executable, "-m", "likewise.cli.main", "--data", str(data), "ingest"]
    small_disk.fill(leave=256 << 10)  # room to open the store, not to ingest the file

    failed = subprocess.run(
        [*command, str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**_env(), "LIKEWISE_BATCH_SIZE": str(BATCH)},
    )
    assert failed.returncode == 1, failed.stderr  # a runtime fault, not bad input
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "disk under the store is full" in errors[0], failed.stderr
    assert failed.stderr.splitlines()[-1] == errors[0]
    assert "Traceback" not in failed.stderr

    small_disk.free()
    with Engine.open(str(data), model="hashing-64") as engine:
        kept = [i for i in engine.ids() if i.startswith("new")]
        assert len(kept) % BATCH == 0 and len(kept) < len(NEW)
        assert engine.count() == len(OLD) + len(kept)
    done = subprocess.run(
        [*command, str(source)], capture_output=True, text=True, timeout=300, env=_env()
    )
    assert done.returncode == 0, done.stderr
    assert f"unchanged: {len(kept)}" in done.stdout
    with Engine.open(str(data), model="hashing-64") as engine:
        assert engine.count() == len(OLD) + len(NEW)
        vector = engine.vectors(["new0007"])["new0007"]
        assert np.isclose(engine.search_vector(vector, n=1)[0].score, 1.0, atol=1e-4)


def test_closing_on_a_full_disk_keeps_the_last_snapshot(
    engine: Engine, small_disk: SmallDisk, caplog: pytest.LogCaptureFixture
) -> None:
    """The index snapshot is a cache: failing to save it warns, leaves no partial file, and
    the next open catches up from the previous snapshot and the rows."""
    engine.close()  # a snapshot of OLD
    engine = _open(small_disk)
    engine.add_items(NEW[:BATCH])  # the index is ahead of its snapshot
    small_disk.fill()
    engine.close()  # no exception: a warning
    assert any("cannot save the index snapshot" in r.getMessage() for r in caplog.records)
    assert not list((small_disk.path / "data" / "index").glob("*.tmp"))
    small_disk.free()
    again = _open(small_disk)
    try:
        assert again.count() == len(OLD) + BATCH
        vector = again.vectors(["new0042"])["new0042"]
        assert again.search_vector(vector, n=1)[0].id == "new0042"
    finally:
        again.close()


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LIKEWISE_")}


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(sqlite3.OperationalError("database or disk is full"), id="sqlite-full"),
        pytest.param(OSError(errno.ENOSPC, "No space left on device"), id="enospc"),
        pytest.param(OSError(errno.EDQUOT, "Disk quota exceeded"), id="quota"),
    ],
)
def test_a_full_disk_is_named_by_the_embedded_store(error: Exception) -> None:
    named = sqlite_error(error)
    assert isinstance(named, StoreFull) and named.code == "store_full"


def test_a_full_disk_is_named_by_the_postgres_store() -> None:
    named = postgres_error(psycopg.errors.DiskFull("could not extend file: No space left"))
    assert isinstance(named, StoreFull) and "disk is full" in str(named)
