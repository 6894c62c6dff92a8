"""Where a backup or a restore goes: the location's backend, the checks of a destination and
a target folder, and the renames that put a finished folder in place.

Folders are compared and renamed by their real paths (`resolve()`): `--data .` and a symlink
to the store replace the folder they name, and a backup inside the store it copies (which a
restore would delete with the store) is refused."""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from likewise.backup.files import DB, reason
from likewise.errors import ConfigError, Conflict, InvalidInput, StoreError
from likewise.store import open_store
from likewise.store.embedded.presence import InUse, Work, recover, replacing
from likewise.store.location import split_vectors

__all__ = [
    "alone",
    "check_destination",
    "check_target",
    "fsync",
    "keep_owner",
    "location",
    "put_right",
    "swap",
    "work",
]

log = logging.getLogger(__name__)


def location(location: str) -> Path | str:
    """A folder (embedded store, its real path) or a PostgreSQL URL; `open_store` refuses
    anything else."""
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", location)
    if scheme is None and location.strip():
        return Path(location).resolve()
    name = scheme.group(1).lower() if scheme else ""
    if name == "file":
        return Path(location[len("file://") :]).resolve()
    if name in ("postgresql", "postgres"):
        if split_vectors(location)[1] is not None:
            raise ConfigError(
                "backup and restore do not support a store with its vectors in Milvus "
                "(?vectors=): one PostgreSQL snapshot would not hold them; stop its writers and "
                "`likewise copy` it into a folder (and back), or back up Milvus with its own tools",
                field="vectors",
            )
        return location
    open_store(location).close()  # raises ConfigError listing the locations it knows
    raise AssertionError(location)  # pragma: no cover


def check_destination(dest: Path, source: Path | str) -> None:
    if isinstance(source, Path) and dest.is_relative_to(source):
        raise InvalidInput(
            f"{dest} is inside the store at {source}, which a restore replaces whole (the "
            "backup with it): keep backups outside the store's folder",
            field="destination",
        )
    if dest.exists() and not dest.is_dir():
        raise InvalidInput(f"{dest} exists and is not a folder", field="destination")
    if dest.is_dir() and any(dest.iterdir()):
        raise InvalidInput(
            f"{dest} exists and is not empty: a backup goes into a new or empty folder",
            field="destination",
        )


def check_target(target: Path, source: Path, force: bool) -> None:
    """Refuse a target the restore cannot or must not replace."""
    if source.is_relative_to(target):
        raise InvalidInput(
            f"{source} is inside the store at {target}, which the restore replaces whole (the "
            "backup with it): move the backup out of the store's folder first",
            field="source",
        )
    if target.exists() and not target.is_dir():
        raise InvalidInput(f"{target} exists and is not a folder", field="data")
    if os.path.ismount(target):
        raise InvalidInput(
            f"{target} is a mount point, and a restore replaces the store's folder by renaming "
            "it: keep the store in a folder inside the mount",
            field="data",
        )
    if not target.is_dir() or not any(target.iterdir()):
        return
    if not force:
        raise InvalidInput(
            f"{target} is not empty: restore replaces a store only with --force", field="data"
        )
    if not (target / DB).is_file():  # --force replaces a store, never an unrelated folder
        raise InvalidInput(
            f"{target} is not a likewise store (no {DB}): not replaced", field="data"
        )


@contextmanager
def alone(target: Path) -> Iterator[None]:
    """Hold the store at `target` (if one is there) alone until the block ends; refused at
    once, naming `--data`, while another process has it open."""
    with ExitStack() as stack:
        if (target / DB).is_file():
            try:
                stack.enter_context(replacing(target))
            except InUse as exc:
                raise Conflict(str(exc), field="data") from None
        yield


def put_right(path: Path) -> None:
    """What a backup or restore stopped part way left beside `path`, put right (see
    `presence.recover`); an error naming the reason if that cannot be done."""
    try:
        recover(path)
    except OSError as exc:
        raise StoreError(
            f"cannot put right what a stopped backup or restore left beside {path}: {reason(exc)}"
        ) from None


def work(path: Path, kind: str, field: str) -> Work:
    """A work folder beside `path` (see `Work`), or an error naming `field` if none can be
    made there."""
    try:
        return Work(path, kind)
    except OSError as exc:
        raise InvalidInput(f"cannot write to {path}: {reason(exc)}", field=field) from None


def keep_owner(staging: Path, target: Path) -> None:
    """Give the restored folder the mode and owner of the store it replaces: a restore run as
    root must not leave a store its server's user cannot write."""
    if not target.is_dir():
        return
    want = target.stat()
    os.chmod(staging, stat.S_IMODE(want.st_mode))
    have = staging.stat()
    if (have.st_uid, have.st_gid) == (want.st_uid, want.st_gid):
        return
    try:
        for path in [staging, *staging.rglob("*")]:
            os.chown(path, want.st_uid, want.st_gid, follow_symlinks=False)
    except PermissionError:  # only root may give files away; the restore itself still holds
        log.warning(
            "the restored store at %s is owned by uid %d, gid %d, not by uid %d, gid %d as the "
            "store it replaced: only root can change that (chown -R)",
            target,
            have.st_uid,
            have.st_gid,
            want.st_uid,
            want.st_gid,
        )


def swap(staging: Work, target: Path) -> None:
    """Put the work folder `staging` at `target`. A store there is moved aside first (to
    `.NAME.old-ID`, the work folder's ID, so `presence.recover` can tell how far a stopped
    swap got) and back if the second rename fails; nothing is left half done."""
    if not target.exists() or not any(target.iterdir()):
        os.replace(staging.path, target)
    else:
        old = target.parent / f".{target.name}.old-{staging.id}"
        try:
            os.replace(target, old)
        except OSError as exc:
            raise StoreError(
                f"cannot move the store at {target} aside to replace it: {reason(exc)}; it is "
                "unchanged"
            ) from None
        try:
            os.replace(staging.path, target)
        except BaseException:
            os.replace(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)  # what is left, `presence.recover` removes
    fsync(target.parent)


def fsync(path: Path) -> None:
    if path.is_dir() and os.name != "posix":
        return  # only POSIX opens a folder to flush its entries
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
