"""The backup folder's manifest and its files: sizes and sha256 checked while they are read,
so what is restored is what was checked."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, BinaryIO

from likewise.errors import InvalidInput, StoreError

__all__ = [
    "COUNTED",
    "DB",
    "FORMAT",
    "MANIFEST",
    "Bars",
    "Manifest",
    "check_counts",
    "check_file",
    "counts",
    "no_bars",
    "reason",
    "sha256",
    "stage",
    "version_of_likewise",
    "why",
]

FORMAT = 1  # the manifest's format; a backup of a newer one is refused, not guessed at
DB = "likewise.db"
MANIFEST = "manifest.json"
CHUNK = 1 << 20
COUNTED = ("items", "events", "users", "impressions")
# The counts a manifest records and a restore checks: the same SQL on SQLite and PostgreSQL.
COUNTS = (
    "SELECT (SELECT COUNT(*) FROM items), (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM "
    "(SELECT user_id FROM events UNION SELECT user_id FROM profiles) AS u), "
    "(SELECT COUNT(*) FROM impressions)"
)

Progress = Callable[[int], object]
# A progress display: `bars(total_bytes, what)` opens one and yields the callback advancing it.
Bars = Callable[[int, str], AbstractContextManager[Progress]]


@contextmanager
def no_bars(total: int, what: str) -> Iterator[Progress]:
    """The default progress display: none."""
    yield lambda done: None


@dataclass(frozen=True)
class Manifest:
    """What `manifest.json` holds; `files` maps each file to its `sha256` and `bytes`."""

    format: int
    likewise: str
    backend: str
    created: str
    counts: dict[str, int]
    files: dict[str, dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        """The manifest of the backup in `folder`, or an error naming what is wrong with it."""
        path = folder / MANIFEST
        try:
            if not folder.is_dir():
                raise InvalidInput(f"{folder} is not a backup folder", field="source")
            if not path.is_file():
                raise InvalidInput(
                    f"{folder} has no {MANIFEST}: not a likewise backup", field="source"
                )
            text = path.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {why(exc)}", field="source") from None
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("it is not a JSON object")
            missing = [k for k in cls.__dataclass_fields__ if k not in data]
            if missing:
                raise ValueError(f"it has no {', '.join(map(repr, missing))}")
            found = cls(**{k: data[k] for k in cls.__dataclass_fields__})
            form = found.format
            if not isinstance(form, int) or isinstance(form, bool) or form < 1:
                raise ValueError(f"its format {form!r} is not a likewise backup format")
            if form > FORMAT:
                raise StoreError(f"{path}: format {form}; this likewise reads {FORMAT}")
            if not isinstance(found.files, dict) or not isinstance(found.counts, dict):
                raise ValueError("its files and counts must be JSON objects")
            names = found.files.keys()
            if DB not in names or any(not re.fullmatch(r"[\w.-]+", n) for n in names):
                raise ValueError(f"its files must include {DB} and name no folder: {list(names)}")
            for name, entry in found.files.items():
                if not isinstance(entry, dict) or not _typed(entry, sha256=str, bytes=int):
                    raise ValueError(f"the sha256 (text) or bytes (a number) of {name} is wrong")
            if not _typed(found.counts, **dict.fromkeys(COUNTED, int)):
                raise ValueError(f"its counts must give {', '.join(COUNTED)}, each a number")
        except ValueError as exc:  # JSONDecodeError is one
            raise StoreError(f"{path} is damaged: {exc}") from None
        return found


def _typed(found: dict[str, Any], **types: type) -> bool:
    """Whether `found` has each key, of its type (a bool is not a number here)."""
    return all(
        isinstance(found.get(k), t) and not isinstance(found.get(k), bool) for k, t in types.items()
    )


def sha256(path: Path, bars: Bars) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f, bars(path.stat().st_size, f"sha256 {path.name}") as advance:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            advance(len(chunk))
    return digest.hexdigest()


def check_file(path: Path, entry: dict[str, Any], copy_to: Path | None, bars: Bars) -> None:
    """Refuse `path` unless its size and sha256 are the manifest's (read once, copied to
    `copy_to` on the way: what is restored is what was checked). An error reading or writing
    names the file and the reason."""
    try:
        if not path.is_file():
            raise StoreError(f"{path} is missing from the backup: nothing was restored")
        size = path.stat().st_size
        source = path.open("rb")
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {why(exc)}; nothing was restored") from None
    if size != entry["bytes"]:
        source.close()
        raise StoreError(
            f"{path} has {size} bytes where the manifest says {entry['bytes']}: the backup is "
            "truncated or damaged; nothing was restored"
        )
    digest = hashlib.sha256()
    with source, bars(size, f"verify {path.name}") as advance:
        out = (_create(copy_to), copy_to) if copy_to else None
        try:
            while chunk := _read(source, path):
                digest.update(chunk)
                if out:
                    _write(*out, chunk)
                advance(len(chunk))
            if out:
                _write(*out, b"")
        finally:
            if out:
                out[0].close()
    if digest.hexdigest() != entry["sha256"]:
        raise StoreError(
            f"{path} fails its checksum (sha256 {digest.hexdigest()[:16]}..., the manifest says "
            f"{str(entry['sha256'])[:16]}...): the backup is damaged; nothing was restored"
        )


def _create(path: Path) -> BinaryIO:
    try:
        return path.open("xb")
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {why(exc)}; nothing was restored") from None


def _read(source: BinaryIO, path: Path) -> bytes:
    try:
        return source.read(CHUNK)
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {why(exc)}; nothing was restored") from None


def _write(out: BinaryIO, path: Path, chunk: bytes) -> None:
    """Write `chunk`; an empty one flushes the file to disk (a full disk may say so only
    then)."""
    try:
        if chunk:
            out.write(chunk)
        else:
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {why(exc)}; nothing was restored") from None


def stage(folder: Path, manifest: Manifest, staging: Path, bars: Bars) -> None:
    staging.mkdir(exist_ok=True)
    for name, entry in manifest.files.items():
        check_file(folder / name, entry, staging / name, bars)


def version_of_likewise() -> str:
    try:
        return version("likewise")
    except PackageNotFoundError:
        return "unknown"


def counts(db: Any) -> dict[str, int]:
    """Items, events, users (with events or a profile) and impressions, on either driver."""
    return dict(zip(COUNTED, map(int, db.execute(COUNTS).fetchone()), strict=True))


def check_counts(manifest: Manifest, found: dict[str, int], where: str) -> None:
    """Refuse a store whose counts are not the manifest's."""
    want = {k: int(manifest.counts[k]) for k in COUNTED}
    if found != want:
        raise StoreError(
            f"{where} holds {found} where the manifest says {want}: nothing was restored"
        )


def reason(exc: OSError) -> str:
    """The OS's reason and the file(s) it names, in one line: `No space left on device (path)`."""
    files = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
    return f"{why(exc)} ({files})" if files else why(exc)


def why(exc: OSError) -> str:
    """The OS's reason alone, for a message that names the file itself."""
    return exc.strerror or str(exc)
