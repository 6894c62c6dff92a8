"""Where a backup or restore may go: a backup kept inside the store (which a restore would
delete with it) is refused, `--data .` and a symlinked `--data` replace the folder they name,
and the restored folder keeps the owner and mode of the one it replaces. (A mount point, which
no rename can replace, is in `test_backup_faults.py` with the other tests on a tmpfs.)"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from tests.test_backup import cli, event_ids, fill, leftovers

from likewise.backup import backup_store


@pytest.fixture
def stores(tmp_path: Path) -> tuple[Path, Path]:
    """`data` (20 events) and `bk`, a backup of another store (30 events)."""
    fill(str(tmp_path / "data"), events=20, train=False)
    fill(str(tmp_path / "other"), events=30, train=False)
    backup_store(str(tmp_path / "other"), tmp_path / "bk")
    return tmp_path / "data", tmp_path / "bk"


def test_a_backup_inside_the_store_is_refused(
    stores: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, bk = stores
    for dest in (data / "bk", data, data / "index" / "bk"):
        code, out, err = cli("--data", str(data), "backup", str(dest), capsys=capsys)
        assert code == 2 and out == "" and err.count("\n") == 1, err
        assert f"field 'destination': {dest} is inside the store at {data}" in err
    assert not (data / "bk").exists() and not (data / "index" / "bk").exists()
    # A backup put there by hand is not restored over itself, with or without --force.
    shutil.copytree(bk, data / "bk")
    before = event_ids(str(data))
    for force in ([], ["--force"]):
        code, _, err = cli("--data", str(data), "restore", str(data / "bk"), *force, capsys=capsys)
        assert code == 2 and err.count("\n") == 1, err
        assert f"field 'source': {data / 'bk'} is inside the store at {data}" in err
    assert (data / "bk" / "manifest.json").is_file() and event_ids(str(data)) == before
    # Both paths are compared as they really are: through a symlink too.
    (tmp_path / "link").symlink_to(data)
    code, _, err = cli("--data", str(tmp_path / "link"), "backup", str(data / "bk2"), capsys=capsys)
    assert code == 2 and "is inside the store at" in err and not (data / "bk2").exists()
    assert leftovers(tmp_path) == []


def test_dot_and_a_symlink_name_the_folder_that_is_replaced(
    stores: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, bk = stores
    other = event_ids(str(tmp_path / "other"))
    monkeypatch.chdir(data)
    code, _, err = cli("--data", ".", "restore", str(bk), "--force", capsys=capsys)
    assert code == 0, err
    monkeypatch.chdir(tmp_path)
    assert event_ids(str(data)) == other
    assert leftovers(data) == [] and leftovers(tmp_path) == []

    real = tmp_path / "volume" / "store"
    fill(str(real), events=20, train=False)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "data").symlink_to(real)
    code, _, err = cli("--data", "app/data", "restore", str(bk), "--force", capsys=capsys)
    assert code == 0, err
    assert (tmp_path / "app" / "data").resolve() == real  # the link is kept...
    assert event_ids(str(real)) == other  # ...and the folder it names replaced
    assert leftovers(tmp_path / "app") == [] and leftovers(real.parent) == []


def test_the_restored_folder_keeps_the_owner_and_mode_it_replaces(
    stores: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    data, bk = stores
    data.chmod(0o750)
    owner = (os.getuid(), os.getgid())
    if os.geteuid() == 0:  # as root (CI), a store of the service's user: here, nobody's
        owner = (65534, 65534)
        for path in [data, *data.rglob("*")]:
            os.chown(path, *owner)
    code, _, err = cli("--data", str(data), "restore", str(bk), "--force", capsys=capsys)
    assert code == 0, err
    assert stat.S_IMODE(data.stat().st_mode) == 0o750
    assert {(p.stat().st_uid, p.stat().st_gid) for p in [data, *data.rglob("*")]} == {owner}
