"""Where a backup or a restore goes: the location's backend, the checks of a destination and
a target folder, and the renames that put a finished folder in place."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

from likewise.backup.files import DB
from likewise.errors import InvalidInput
from likewise.store import open_store

__all__ = ["beside", "check_destination", "check_target", "fsync", "location", "reason", "swap"]


def location(location: str) -> Path | str:
    """A folder (embedded store) or a PostgreSQL URL; `open_store` refuses anything else."""
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", location)
    if scheme is None and location.strip():
        return Path(location)
    name = scheme.group(1).lower() if scheme else ""
    if name == "file":
        return Path(location[len("file://") :])
    if name in ("postgresql", "postgres"):
        return location
    open_store(location).close()  # raises ConfigError listing the locations it knows
    raise AssertionError(location)  # pragma: no cover


def check_destination(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise InvalidInput(f"{dest} exists and is not a folder", field="destination")
    if dest.is_dir() and any(dest.iterdir()):
        raise InvalidInput(
            f"{dest} exists and is not empty: a backup goes into a new or empty folder",
            field="destination",
        )


def check_target(target: Path, force: bool) -> None:
    if target.exists() and not target.is_dir():
        raise InvalidInput(f"{target} exists and is not a folder", field="target")
    if not target.is_dir() or not any(target.iterdir()):
        return
    if not force:
        raise InvalidInput(
            f"{target} is not empty: restore replaces a store only with --force", field="target"
        )
    if not (target / DB).is_file():  # --force replaces a store, never an unrelated folder
        raise InvalidInput(
            f"{target} is not a likewise store (no {DB}): not replaced", field="target"
        )


def beside(path: Path, what: str, field: str) -> Path:
    """A new hidden folder next to `path` (the same file system, so a rename moves it), made
    with the umask's mode as `path` itself would be (mkdtemp's is private to its owner)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        made = path.parent / f".{path.name}.{what}-{uuid.uuid4().hex[:12]}"
        made.mkdir()
        return made
    except OSError as exc:
        raise InvalidInput(f"cannot write to {path}: {reason(exc)}", field=field) from None


def swap(staging: Path, target: Path) -> None:
    """Put `staging` at `target`; a store there is moved aside first and back if that fails."""
    if not target.exists() or not any(target.iterdir()):
        os.replace(staging, target)
    else:
        old = beside(target, "old", "target")
        os.replace(target, old)
        try:
            os.replace(staging, target)
        except BaseException:
            os.replace(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    fsync(target.parent)


def fsync(path: Path) -> None:
    if path.is_dir() and os.name != "posix":
        return  # only POSIX opens a folder to flush its entries
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def reason(exc: OSError) -> str:
    return f"{exc.strerror or exc} ({exc.filename})" if exc.filename else str(exc.strerror or exc)
