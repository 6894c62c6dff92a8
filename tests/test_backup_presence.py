"""A restore never replaces a store that a process has open, and one killed part way is put
right by whatever touches the store next.

The processes are real: a `likewise serve` holding the store, and `likewise restore` and
`likewise backup` run in a child process that sends itself SIGKILL at a chosen step (between
the two renames of the swap, after them, while the backup is copied or checked). What the kill
leaves is checked first, so each test shows the state it recovers from."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.service.test_http_soak import free_port, start
from tests.test_backup import CATALOG, cli, event_ids, fill, leftovers

from likewise import Engine
from likewise.backup import backup_store, restore_store
from likewise.errors import Conflict, StoreError
from likewise.store.embedded.presence import replacing


@pytest.fixture
def stores(tmp_path: Path) -> tuple[Path, Path]:
    """`data` (a store of 20 events) and `bk`, a backup of another store (30 events): each
    restore below replaces the first with the second, so their event ids tell them apart."""
    fill(str(tmp_path / "data"), events=20, train=False)
    fill(str(tmp_path / "other"), events=30, train=False)
    backup_store(str(tmp_path / "other"), tmp_path / "bk")
    return tmp_path / "data", tmp_path / "bk"


def test_restore_is_refused_while_a_server_has_the_store_open(
    stores: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, bk = stores
    before = event_ids(str(data))
    port = free_port()
    server = start(data, port, log=tmp_path / "server.log")
    try:
        code, out, err = cli("--data", str(data), "restore", str(bk), "--force", capsys=capsys)
        assert code == 2 and out == "" and err.count("\n") == 1, err
        assert f"field 'data': the store at {data} is open in another process" in err
        # The server goes on, and what it acknowledges now is kept.
        late = {"user_id": "late", "item_id": CATALOG[0]["id"], "type": "click", "event_id": "z1"}
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/events", json=[late], timeout=30)
        assert answer.status_code == 200 and answer.json()["accepted"] == 1
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert event_ids(str(data)) == before | {"z1"} and leftovers(tmp_path) == []
    code, _, err = cli("--data", str(data), "restore", str(bk), "--force", capsys=capsys)
    assert code == 0, err  # once the server is stopped
    assert event_ids(str(data)) == event_ids(str(tmp_path / "other"))


def test_an_open_store_and_a_restore_exclude_each_other(stores: tuple[Path, Path]) -> None:
    data, bk = stores
    engine = Engine.open(str(data))  # the reviewer's case: a server in this very process
    try:
        with pytest.raises(Conflict, match="open in another process") as refused:
            restore_store(bk, str(data), force=True)
        assert refused.value.field == "data"
        engine.record("late", CATALOG[1]["id"], "like")
    finally:
        engine.close()
    assert len(event_ids(str(data))) == 21
    with replacing(data), pytest.raises(StoreError, match="being replaced by a restore"):
        Engine.open(str(data))  # a server started while a restore runs waits for none
    restore_store(bk, str(data), force=True)
    with Engine.open(str(data)) as engine:
        assert engine.user_events("late").events == []  # the backup's store, not the old one


def test_a_snapshot_saved_into_the_restored_folder_is_not_adopted(
    tmp_path: Path,
) -> None:
    """A likewise older than the lock does not hold it: its server, still open when the folder
    is swapped, saves its index snapshot into the restored folder as it closes. The restored
    store has a new generation of labels, so that snapshot is rebuilt, not served."""
    data, source = str(tmp_path / "data"), str(tmp_path / "source")
    with Engine.open(source, model="hashing-64") as engine:
        engine.add_items([{"id": f"y{k}", "title": f"yellow thing {k}"} for k in range(6)])
    backup_store(source, tmp_path / "bk")
    with Engine.open(data, model="hashing-64") as engine:
        engine.add_items([{"id": f"x{k}", "title": f"xylophone thing {k}"} for k in range(6)])
    stale = Engine.open(data)
    stale.store._presence.close()  # type: ignore[attr-defined]  # as an older likewise
    restore_store(tmp_path / "bk", data, force=True)
    stale.add_items([{"id": "x9", "title": "xylophone new"}])  # its index changes...
    stale.close()  # ...and is saved into the restored folder
    with Engine.open(data) as engine:
        assert {h.id for h in engine.search("yellow thing", n=6)} == {f"y{k}" for k in range(6)}
        assert {h.id for h in engine.search("xylophone", n=6)} == {f"y{k}" for k in range(6)}


# -- killed part way ------------------------------------------------------------------------

CHILD = """
import os, shutil, signal, sys
from contextlib import contextmanager
from likewise.backup import backup_store, restore_store

step, command, source, target = sys.argv[1:5]
kill = lambda: os.kill(os.getpid(), signal.SIGKILL)
replace, rmtree = os.replace, shutil.rmtree

def replace_then(a, b):
    replace(a, b)
    if step == "between-renames" and ".old-" in str(b):
        kill()

def rmtree_first(path, *args, **kwargs):
    if step == "after-renames" and ".old-" in str(path):
        kill()
    rmtree(path, *args, **kwargs)

@contextmanager
def bars(total, what):
    yield lambda done: kill() if step == "copying" else None

os.replace, shutil.rmtree = replace_then, rmtree_first
if command == "restore":
    restore_store(source, target, force=True, bars=bars)
else:
    backup_store(source, target, bars=bars)
print("not killed")
"""


def killed(step: str, command: str, source: Path | str, target: Path | str) -> None:
    """Run `command` in a child process that kills itself with SIGKILL at `step`."""
    args = [sys.executable, "-c", CHILD, step, command, str(source), str(target)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stdout + done.stderr


def test_a_restore_killed_between_the_renames_is_undone_by_the_next_open(
    stores: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, bk = stores
    before = event_ids(str(data))
    killed("between-renames", "restore", bk, data)
    assert not data.exists()  # the store is aside, the restored copy not yet in place
    assert [n.split("-")[0] for n in leftovers(tmp_path)] == [".data.old", ".data.restore"]
    with caplog.at_level(logging.WARNING), Engine.open(str(data)) as engine:
        assert engine.count() == len(CATALOG)
    assert "the store it was replacing is back in place" in caplog.text
    assert event_ids(str(data)) == before and leftovers(tmp_path) == []


def test_a_restore_killed_after_the_renames_is_finished_by_the_next_backup(
    stores: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, bk = stores
    killed("after-renames", "restore", bk, data)
    assert [n.split("-")[0] for n in leftovers(tmp_path)] == [".data.old"]
    assert event_ids(str(data)) == event_ids(str(tmp_path / "other"))  # the swap was done
    with caplog.at_level(logging.WARNING):
        backup_store(str(data), tmp_path / "bk2")
    assert "the store a finished restore replaced" in caplog.text
    assert leftovers(tmp_path) == []
    assert event_ids(str(data)) == event_ids(str(tmp_path / "other"))


def test_work_folders_of_killed_runs_are_removed_by_the_next_run(
    stores: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, bk = stores
    before = event_ids(str(data))
    killed("copying", "backup", data, tmp_path / "bk2")  # while the store is copied
    killed("copying", "restore", bk, data)  # while the backup is checked into the work folder
    assert [n.split("-")[0] for n in leftovers(tmp_path)] == [".bk2.partial", ".data.restore"]
    assert event_ids(str(data)) == before  # neither got far enough to change anything
    with caplog.at_level(logging.WARNING):
        backup_store(str(data), tmp_path / "bk2")
        restore_store(bk, str(data), force=True)
    assert caplog.text.count("left by a backup or restore that was stopped") == 2
    assert leftovers(tmp_path) == []
    assert event_ids(str(tmp_path / "data")) == event_ids(str(tmp_path / "other"))
