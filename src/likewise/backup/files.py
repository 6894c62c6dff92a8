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
from typing import Any

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
        if not folder.is_dir():
            raise InvalidInput(f"{folder} is not a backup folder", field="source")
        if not path.is_file():
            raise InvalidInput(f"{folder} has no {MANIFEST}: not a likewise backup", field="source")
        try:
            data = json.loads(path.read_bytes())
            found = cls(**{k: data[k] for k in cls.__dataclass_fields__})
            if not isinstance(found.format, int) or found.format > FORMAT:
                raise StoreError(f"{path}: format {found.format!r}; this likewise reads {FORMAT}")
            names = found.files.keys()
            if DB not in names or any(not re.fullmatch(r"[\w.-]+", n) for n in names):
                raise ValueError(f"its files must include {DB} and name no folder: {list(names)}")
            if any(
                not isinstance(e["sha256"], str) or not isinstance(e["bytes"], int)
                for e in found.files.values()
            ) or any(not isinstance(found.counts[k], int) for k in COUNTED):
                raise ValueError("a checksum, size or count of the wrong type")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreError(f"{path} is damaged: {exc!r}") from None
        return found


def sha256(path: Path, bars: Bars) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f, bars(path.stat().st_size, f"sha256 {path.name}") as advance:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            advance(len(chunk))
    return digest.hexdigest()


def check_file(path: Path, entry: dict[str, Any], copy_to: Path | None, bars: Bars) -> None:
    """Refuse `path` unless its size and sha256 are the manifest's (read once, copied to
    `copy_to` on the way: what is restored is what was checked)."""
    if not path.is_file():
        raise StoreError(f"{path} is missing from the backup: nothing was restored")
    size = path.stat().st_size
    if size != entry["bytes"]:
        raise StoreError(
            f"{path} has {size} bytes where the manifest says {entry['bytes']}: the backup is "
            "truncated or damaged; nothing was restored"
        )
    digest = hashlib.sha256()
    with path.open("rb") as f, bars(size, f"verify {path.name}") as advance:
        out = copy_to.open("xb") if copy_to else None
        try:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
                if out:
                    out.write(chunk)
                advance(len(chunk))
            if out:
                out.flush()
                os.fsync(out.fileno())
        finally:
            if out:
                out.close()
    if digest.hexdigest() != entry["sha256"]:
        raise StoreError(
            f"{path} fails its checksum (sha256 {digest.hexdigest()[:16]}..., the manifest says "
            f"{str(entry['sha256'])[:16]}...): the backup is damaged; nothing was restored"
        )


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
