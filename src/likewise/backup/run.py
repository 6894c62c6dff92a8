"""`backup_store`, `verify_backup` and `restore_store`, over either backend."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from likewise.backup.files import (
    DB,
    FORMAT,
    MANIFEST,
    Bars,
    Manifest,
    check_counts,
    check_file,
    counts,
    no_bars,
    sha256,
    stage,
    version_of_likewise,
)
from likewise.backup.folders import (
    beside,
    check_destination,
    check_target,
    fsync,
    location,
    reason,
    swap,
)
from likewise.backup.postgres import from_postgres, into_postgres
from likewise.backup.sqlite import check_database, snapshot
from likewise.errors import StoreError
from likewise.store import EmbeddedStore

__all__ = ["backup_store", "restore_store", "verify_backup"]


def backup_store(
    source: str, destination: str | Path, *, bars: Bars = no_bars, progress: bool = False
) -> Manifest:
    """Back up the store at `source` (a folder or a PostgreSQL URL) into the new folder
    `destination`, while servers may keep writing to it.

    Every write committed before the call is in the backup; later ones may be. `progress`
    shows `likewise copy`'s bars for a PostgreSQL source.
    """
    where, dest = location(source), Path(destination)
    check_destination(dest)
    partial = beside(dest, "partial", "destination")
    try:
        if isinstance(where, Path):
            backend, tally = "embedded", snapshot(where / DB, partial / DB, bars)
        else:
            backend, tally = "postgres", from_postgres(where, partial, bars, progress)
        manifest = Manifest(
            FORMAT,
            version_of_likewise(),
            backend,
            datetime.now(UTC).isoformat(timespec="seconds"),
            tally,
            {DB: {"sha256": sha256(partial / DB, bars), "bytes": (partial / DB).stat().st_size}},
        )
        (partial / MANIFEST).write_text(json.dumps(manifest.as_dict(), indent=2) + "\n")
        for name in (DB, MANIFEST):
            fsync(partial / name)
        os.replace(partial, dest)  # onto nothing, or onto an empty folder
        fsync(dest.parent)
    except OSError as exc:
        raise StoreError(f"writing the backup to {dest} failed: {reason(exc)}") from exc
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return manifest


def verify_backup(source: str | Path, *, bars: Bars = no_bars) -> Manifest:
    """Check a backup without restoring it: every file's size and sha256, the database's
    integrity and its counts against the manifest. Returns the manifest."""
    folder = Path(source)
    manifest = Manifest.read(folder)
    for name, entry in manifest.files.items():
        check_file(folder / name, entry, None, bars)
    uri = f"{(folder / DB).resolve().as_uri()}?mode=ro&immutable=1"  # reads, writes nothing
    db = sqlite3.connect(uri, uri=True)
    try:
        check_database(db, folder / DB)
        check_counts(manifest, counts(db), str(folder / DB))
    except sqlite3.Error as exc:
        raise StoreError(f"{folder / DB} is damaged: {exc}") from exc
    finally:
        db.close()
    return manifest


def restore_store(
    source: str | Path,
    target: str,
    *,
    force: bool = False,
    bars: Bars = no_bars,
    progress: bool = False,
) -> Manifest:
    """Restore the backup in folder `source` into `target` (a folder or a PostgreSQL URL),
    refusing a target that holds anything unless `force`. Every file is checked against the
    manifest and the restored counts against its counts before the target is replaced."""
    folder = Path(source)
    manifest = Manifest.read(folder)
    where = location(target)
    if isinstance(where, str):
        with tempfile.TemporaryDirectory(prefix="likewise-restore-") as tmp:
            stage(folder, manifest, Path(tmp) / "store", bars)
            into_postgres(where, Path(tmp) / "store", manifest, force, progress)
        return manifest
    check_target(where, force)
    staging = beside(where, "restore", "target")
    try:
        stage(folder, manifest, staging, bars)
        EmbeddedStore(staging).close()  # upgrades an older schema, builds and saves the index
        db = sqlite3.connect(staging / DB)
        try:
            tally = counts(db)
        finally:
            db.close()
        check_counts(manifest, tally, str(where))
        swap(staging, where)
    except OSError as exc:
        raise StoreError(f"restoring into {where} failed: {reason(exc)}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest
