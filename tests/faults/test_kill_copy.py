"""kill -9 during `likewise copy`: the source is untouched, the half-made destination is
refused by name with what to do, and a copy into a new destination completes and verifies.

`likewise -v copy` logs each step; the test kills it (SIGKILL, no chance to clean up) as soon
as the step it wants to interrupt has begun.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from likewise import Engine
from likewise.copy import MARK, UNFINISHED, copy_store
from likewise.store import open_store

N_ITEMS, N_USERS, PER_USER = 800, 200, 40


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An embedded store with items, a second space, events, profiles and a trained model:
    every table `copy` moves, big enough that each step takes a moment."""
    data = tmp_path_factory.mktemp("source") / "data"
    with Engine.open(str(data), model="hashing-64") as engine:
        engine.add_items(
            [{"id": f"i{k}", "title": f"item {k} of group {k % 50}"} for k in range(N_ITEMS)]
        )
        engine.record_many(
            [
                {"user_id": f"u{u}", "item_id": f"i{(u * 7 + j * 13) % N_ITEMS}", "type": "click"}
                for u in range(N_USERS)
                for j in range(PER_USER)
            ]
        )
        engine.train()  # blobs, and the behaviour space
    return data


def _digest(folder: Path) -> str:
    """Every row of every table of an embedded store, in a fixed order."""
    db = sqlite3.connect(f"file:{folder / 'likewise.db'}?mode=ro", uri=True)
    try:
        digest = hashlib.sha256()
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in sorted(tables):
            for row in db.execute(f"SELECT * FROM {table} ORDER BY 1"):
                digest.update(repr((table, row)).encode())
        return digest.hexdigest()
    finally:
        db.close()


def _kill_copy_at(source: Path, destination: str, step: str, log: Path) -> None:
    """Run `likewise -v copy` and kill -9 it once it logs `step`."""
    command = [sys.executable, "-m", "likewise.cli.main", "-v", "copy"]
    with subprocess.Popen(
        [*command, str(source), destination], stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stderr is not None
        seen = []
        deadline = time.monotonic() + 120
        for line in proc.stderr:
            seen.append(line)
            if f"likewise.copy:{step}" in line:
                os.kill(proc.pid, signal.SIGKILL)
                break
            if time.monotonic() > deadline:
                break
        proc.wait(timeout=60)
        log.write_text("".join(seen))
        assert proc.returncode == -signal.SIGKILL, f"not killed at {step!r}: {''.join(seen)}"


def _embedded(tmp_path: Path, _: Callable[[], str]) -> tuple[str, str]:
    return str(tmp_path / "copy"), str(tmp_path / "again")


def _postgres(_: Path, new_database: Callable[[], str]) -> tuple[str, str]:
    return new_database(), new_database()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "step"),
    [
        pytest.param("embedded", "copying", id="embedded-during-items"),
        pytest.param("embedded", "verifying", id="embedded-during-verify"),
        pytest.param("postgres", "copying events", id="postgres-during-events"),
    ],
)
def test_kill_9_during_copy(
    source: Path, tmp_path: Path, request: pytest.FixtureRequest, kind: str, step: str
) -> None:
    new_database = request.getfixturevalue("new_pg_database") if kind == "postgres" else None
    first, second = (_postgres if kind == "postgres" else _embedded)(tmp_path, new_database)
    before = _digest(source)

    _kill_copy_at(source, first, step, tmp_path / "copy.log")

    assert _digest(source) == before  # only read
    partial = open_store(first)
    try:  # the destination says what it is
        assert partial.get_blob(MARK) is not None and b"unfinished" in partial.get_blob(MARK)
    finally:
        partial.close()
    again = subprocess.run(
        [sys.executable, "-m", "likewise.cli.main", "copy", str(source), first],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 1  # a fault of the store, not of the command line
    assert again.stderr == f"error: {UNFINISHED}\n"

    report = copy_store(str(source), second)  # as the message says: a new destination
    assert report.counts["items"] == N_ITEMS
    assert report.counts["events"] == N_USERS * PER_USER
    assert _digest(source) == before
    with Engine.open(second) as engine:
        assert engine.model() is not None
        assert engine.count() == N_ITEMS
        assert engine.similar("i1", n=3)


def test_a_store_whose_copy_never_finished_is_refused_when_opened(tmp_path: Path) -> None:
    """`likewise serve` or any Engine on it would pass a partial copy for a store."""
    from likewise.errors import StoreError
    from likewise.store.copy_mark import mark

    with Engine.open(str(tmp_path / "half"), model="hashing-64") as engine:
        engine.add_items([{"id": "a", "title": "one item of many"}])
    store = open_store(str(tmp_path / "half"))
    mark(store, "unfinished")
    store.close()
    with pytest.raises(StoreError, match="did not finish"):
        Engine.open(str(tmp_path / "half"))
