"""Which processes have an embedded store open, and what a restore stopped part way left
beside it.

Every open `EmbeddedStore` holds a shared `flock` on `likewise.lock` in its folder until it is
closed. A restore takes that lock exclusively, without waiting, before it replaces the folder,
and is refused while any process has the store open: that process would go on writing to
files the swap deletes (its acknowledged writes lost) and, at close, save its index snapshot
into the restored folder. The kernel releases a flock when its process dies, kill -9 included,
so a lock is never left behind.

A restore replaces the folder `NAME` in two renames: the store aside to `.NAME.old-ID`, then
the restored copy from `.NAME.restore-ID` into place. A process killed between them leaves no
store at `NAME`; the next open, backup or restore of `NAME` puts it right first (`recover`):
the old store is moved back, or removed when the swap had finished. A work folder (`Work`:
`.NAME.restore-ID`, `.NAME.partial-ID`) is held by a flock on the folder itself while its
process lives, so one whose process died is known to be stale and is removed.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from likewise.errors import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock: a store is not guarded there
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK", "InUse", "Presence", "Work", "recover", "replacing"]

log = logging.getLogger(__name__)
LOCK = "likewise.lock"
_PIECE = re.compile(r"(old|restore|partial)-([0-9a-f]{12})")


class InUse(StoreError):
    """Another process has the store open, or is replacing it."""


class Presence:
    """This process has the store in `folder` open: a shared lock on its `likewise.lock`, held
    until `close`. Taken before anything in the folder is read or written, after what a
    stopped restore left beside the folder is put right (so a store moved aside is moved back
    rather than a new empty one made in its place)."""

    def __init__(self, folder: Path) -> None:
        while True:
            recover(folder.resolve())  # where a restore (which resolves it) left its pieces
            folder.mkdir(parents=True, exist_ok=True)
            try:
                fd = _lock_file(folder, shared=True)
            except FileNotFoundError:
                continue  # a restore moved the folder aside just now: look again
            if fd is None:
                raise InUse(
                    f"the store at {folder} is being replaced by a restore in another process: "
                    "open it once that is done"
                )
            self._fd = fd
            self._folder = folder
            return

    def current(self) -> bool:
        """Whether the folder is still the one opened (not deleted, or deleted and made
        again: a tenant's, by another process)."""
        return self._fd >= 0 and _same(self._fd, self._folder / LOCK)

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


@contextmanager
def replacing(folder: Path) -> Iterator[None]:
    """Hold the store in `folder` alone while the block replaces it: no other process has it
    open, and none can open it until the block ends. Raises `InUse` at once, without waiting,
    if one has it open."""
    fd = _lock_file(folder, shared=False)
    if fd is None:
        raise InUse(
            f"the store at {folder} is open in another process (a running server?): stop it first"
        )
    try:
        yield
    finally:
        os.close(fd)


class Work:
    """A new hidden folder beside `path`, `.NAME.KIND-ID` (on the same file system, so a
    rename moves it into place), held by this process until `close` removes it. It is made
    with the umask's mode, as `path` itself would be (mkdtemp's is private to its owner)."""

    def __init__(self, path: Path, kind: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            self.id = uuid.uuid4().hex[:12]
            self.path = path.parent / f".{path.name}.{kind}-{self.id}"
            self.path.mkdir()
            fd = _hold_folder(self.path)
            if fd is not None:
                self._fd = fd
                return
            # Another process's `recover` took it for stale between mkdir and the lock.

    def close(self) -> None:
        """Remove the folder (unless it was renamed into place) and let it go."""
        shutil.rmtree(self.path, ignore_errors=True)
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


def recover(folder: Path) -> None:
    """Put right what a restore or backup killed part way left beside `folder`: a store it
    moved aside comes back if nothing is at `folder`, or is removed if its swap had finished;
    work folders whose process is gone are removed. Each is logged as a warning. Raises
    `InUse` if a restore in another process is swapping the folder right now, and OSError if
    a store cannot be moved back (then nothing may be made in its place)."""
    prefix = f".{folder.name}."
    try:
        names = [p.name for p in folder.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return  # no folder to look in (or none this process may list): nothing it can do
    found: dict[str, dict[str, Path]] = {"old": {}, "restore": {}, "partial": {}}
    for name in names:
        if match := _PIECE.fullmatch(name[len(prefix) :]):
            found[match[1]][match[2]] = folder.parent / name
    for key, old in found["old"].items():
        _recover_old(folder, old, swapped=key not in found["restore"])
    for key, work in (found["restore"] | found["partial"]).items():
        if key not in found["old"] or not found["old"][key].exists():
            _remove_if_stale(work)


def _recover_old(folder: Path, old: Path, *, swapped: bool) -> None:
    """`old` is a store a restore moved aside; `swapped` if its restored copy left the work
    folder (so it is the store now at `folder`)."""
    try:
        fd = _lock_file(old, shared=False)
    except FileNotFoundError:
        return  # removed meanwhile by the restore that made it
    if fd is None:
        raise InUse(
            f"the store at {folder} is being replaced by a restore in another process: "
            "open it once that is done"
        )
    try:
        if not folder.exists() or (folder.is_dir() and not any(folder.iterdir())):
            os.replace(old, folder)
            log.warning(
                "%s: a restore was stopped before it finished; the store it was replacing is "
                "back in place",
                folder,
            )
        elif swapped:
            shutil.rmtree(old)
            log.warning(
                "removed %s: the store a finished restore replaced at %s (the restore was "
                "stopped before it removed it)",
                old,
                folder,
            )
        else:
            log.warning(
                "%s is a store a stopped restore moved aside, and %s holds another store now: "
                "keep the one you want by hand",
                old,
                folder,
            )
    finally:
        os.close(fd)


def _remove_if_stale(work: Path) -> None:
    fd = _hold_folder(work)
    if fd is None:
        return  # its process is still at work
    try:
        shutil.rmtree(work)
        log.warning("removed %s, left by a backup or restore that was stopped", work)
    except OSError as exc:
        log.warning("cannot remove %s, left by a stopped backup or restore: %s", work, exc)
    finally:
        os.close(fd)


def _hold_folder(folder: Path) -> int | None:
    """An exclusive lock on the folder itself, or None if another process holds it (or the
    folder is gone)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return None
    if _locked(fd, shared=False) and _same(fd, folder):
        return fd
    os.close(fd)
    return None


def _lock_file(folder: Path, *, shared: bool) -> int | None:
    """The `likewise.lock` of `folder`, locked shared or exclusive without waiting and still
    the file at that path (a restore may have swapped the folder in between: then the new
    one is tried); None if another process holds a lock that conflicts."""
    while True:
        # Read-only: a lock needs no write access, so servers and a restore run as different
        # users share the file.
        fd = os.open(folder / LOCK, os.O_RDONLY | os.O_CREAT, 0o644)
        try:
            if not _locked(fd, shared=shared):
                os.close(fd)
                return None
            if _same(fd, folder / LOCK):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _locked(fd: int, *, shared: bool) -> bool:
    if fcntl is None:  # pragma: no cover
        return True
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _same(fd: int, path: Path) -> bool:
    """Whether `fd` is still the file at `path`."""
    with suppress(FileNotFoundError, NotADirectoryError):
        here, there = os.stat(path), os.fstat(fd)
        return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
    return False
