"""Faults under backup and restore are one line naming the file and the reason, never a
traceback: files that cannot be read (a real permission error, in a child process that is
not root or has root's override of file modes dropped), a disk that fills up (a real tmpfs),
a manifest that lies about its format or lacks a key, and a store that fails SQLite's check."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.test_backup import cli, event_ids, fill, leftovers

from likewise.backup import Manifest, backup_store
from likewise.errors import StoreError
from likewise.store import open_store

CI = os.environ.get("CI") == "true"

# Run the CLI without root's override of file modes (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH),
# so a file of mode 000 is refused to it as to any user.
UNPRIVILEGED = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
for capability in (1, 2):
    if os.geteuid() == 0 and libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
        sys.exit(f"cannot drop capability {capability}: errno {ctypes.get_errno()}")
os.execv(sys.executable, [sys.executable, "-m", "likewise.cli.main", *sys.argv[1:]])
"""


def unprivileged(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", UNPRIVILEGED, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.fixture
def made(tmp_path: Path) -> Path:
    fill(str(tmp_path / "data"), events=20, train=False)
    backup_store(str(tmp_path / "data"), tmp_path / "bk")
    return tmp_path / "bk"


@pytest.mark.parametrize("name", ["manifest.json", "likewise.db"])
def test_an_unreadable_backup_file_is_one_line(made: Path, tmp_path: Path, name: str) -> None:
    (made / name).chmod(0)
    target = tmp_path / "target"
    if name == "manifest.json":  # the backup cannot be read at all: SRC is named
        says = f"error: field 'source': cannot read {made / name}: Permission denied\n"
        code = 2  # the source given is not a backup it can read
    else:
        says = f"error: cannot read {made / name}: Permission denied; nothing was restored\n"
        code = 1  # a file of the backup fails: a runtime fault
    for args in (["restore", str(made), "--check"], ["--data", str(target), "restore", str(made)]):
        done = unprivileged(*args)
        assert done.returncode == code and done.stdout == "", done.stderr
        assert done.stderr == says
    assert not target.exists() and leftovers(tmp_path) == []


def test_a_restore_into_a_folder_it_cannot_write_is_one_line(made: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    done = unprivileged("--data", str(locked / "data"), "restore", str(made))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert f"field 'data': cannot write to {locked / 'data'}: Permission denied" in done.stderr
    assert list(locked.iterdir()) == []


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[Path]:
    """A small tmpfs mounted for the test (root is needed: CI runs as root)."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        message = f"a tmpfs cannot be mounted (root is needed): {done.stderr.strip()}"
        pytest.fail(message) if CI else pytest.skip(message)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=True)


def test_a_mount_point_is_refused_before_anything_is_done(
    made: Path, tmp_path: Path, mounted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bk = made
    fill(str(mounted), events=20, train=False)
    before = sorted(p.name for p in mounted.iterdir())
    code, out, err = cli("--data", str(mounted), "restore", str(bk), "--force", capsys=capsys)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert f"field 'data': {mounted} is a mount point" in err
    assert sorted(p.name for p in mounted.iterdir()) == before and leftovers(tmp_path) == []
    assert len(event_ids(str(mounted))) == 20
    # A folder inside the mount is fine.
    code, _, err = cli("--data", str(mounted / "store"), "restore", str(bk), capsys=capsys)
    assert code == 0, err


@pytest.fixture
def full(mounted: Path) -> Iterator[Callable[[], None]]:
    """Fills the tmpfs `mounted` to its last byte when called; frees it afterwards."""
    filler = mounted / "filler"

    def fill_up() -> None:
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            for chunk in (1 << 20, 1 << 12, 1):  # tmpfs counts in pages
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, b"\0" * chunk)
        finally:
            os.close(fd)
        assert os.statvfs(mounted).f_bavail == 0

    yield fill_up
    filler.unlink(missing_ok=True)


def test_a_full_disk_under_the_restored_store_is_one_line(
    made: Path, mounted: Path, full: Callable[[], None], capsys: pytest.CaptureFixture[str]
) -> None:
    target = mounted / "data"
    fill(str(target), events=10, train=False)
    full()
    code, out, err = cli("--data", str(target), "restore", str(made), "--force", capsys=capsys)
    assert code == 1 and out == "" and err.count("\n") == 1, err
    assert "No space left on device" in err or "disk is full" in err
    assert str(mounted) in err and leftovers(mounted) == []
    (mounted / "filler").unlink()  # room for SQLite's shared memory file, to read it
    assert len(event_ids(str(target))) == 10


def test_a_postgres_restore_stages_beside_the_backup_and_says_when_it_is_full(
    tmp_path: Path,
    mounted: Path,
    full: Callable[[], None],
    new_pg_database: Callable[[], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    fill(str(tmp_path / "data"), events=20, train=False)
    bk = mounted / "bk"
    backup_store(str(tmp_path / "data"), bk)
    url = new_pg_database()
    full()
    code, out, err = cli("--data", url, "restore", str(bk), capsys=capsys)
    assert code == 1 and out == "" and err.count("\n") == 1, err
    assert f"cannot write {mounted}/.bk.restore-" in err and "No space left on device" in err
    assert leftovers(mounted) == []
    store = open_store(url)
    try:
        assert store.count() == 0 and event_ids(url) == set()  # nothing was restored
    finally:
        store.close()


@pytest.mark.parametrize(
    ("change", "says"),
    [
        pytest.param({"format": 0}, "its format 0 is not a likewise backup format", id="zero"),
        pytest.param({"format": -1}, "its format -1 is not a likewise backup format", id="neg"),
        pytest.param({"format": True}, "its format True is not", id="bool"),
        pytest.param({"format": None}, "it has no 'format'", id="missing"),
        pytest.param({"counts": {"items": 1}}, "its counts must give items, events", id="counts"),
        pytest.param({"files": []}, "its files and counts must be JSON objects", id="files"),
    ],
)
def test_a_manifest_is_read_strictly_and_named_in_words(
    made: Path, change: dict[str, object], says: str
) -> None:
    manifest = json.loads((made / "manifest.json").read_text())
    manifest.update(change)
    manifest = {k: v for k, v in manifest.items() if v is not None}
    (made / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match="is damaged: ") as damaged:
        Manifest.read(made)
    assert says in str(damaged.value) and "Error(" not in str(damaged.value)


def test_a_damaged_store_is_named_as_the_source_of_a_bad_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    fill(str(data), events=60, train=False)
    db = sqlite3.connect(data / "likewise.db")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = db.execute("PRAGMA page_size").fetchone()[0]
    (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'events_user'").fetchone()
    db.close()
    content = bytearray((data / "likewise.db").read_bytes())
    for at in range(root * size - 200, root * size - 100):  # cells of one index page
        content[at] ^= 0x55
    (data / "likewise.db").write_bytes(bytes(content))
    code, out, err = cli("--data", str(data), "backup", str(tmp_path / "bk"), capsys=capsys)
    assert code == 1 and out == "" and err.count("\n") == 1, err
    assert err.startswith(f"error: the copy of {data / 'likewise.db'} (the store itself may be")
    assert "fails SQLite's integrity check: *** in database main ***" in err
    assert not (tmp_path / "bk").exists() and leftovers(tmp_path) == []
