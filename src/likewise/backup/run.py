"""`backup_store`, `verify_backup` and `restore_store`, over either backend."""

from __future__ import annotations

import json
import os
import sqlite3
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
    reason,
    sha256,
    stage,
    version_of_likewise,
)
from likewise.backup.folders import (
    alone,
    check_destination,
    check_target,
    fsync,
    keep_owner,
    location,
    put_right,
    swap,
    work,
)
from likewise.backup.postgres import from_postgres, into_postgres
from likewise.backup.sqlite import check_database, new_generations, snapshot
from likewise.errors import StoreError
from likewise.store import EmbeddedStore
from likewise.store.location import redact

__all__ = ["backup_store", "restore_store", "verify_backup"]


def backup_store(
    source: str, destination: str | Path, *, bars: Bars = no_bars, progress: bool = False
) -> Manifest:
    """Back up the store at `source` (a folder or a PostgreSQL URL) into the new folder
    `destination`, while servers may keep writing to it.

    Every write committed before the call is in the backup; later ones may be. `progress`
    shows `likewise copy`'s bars for a PostgreSQL source.
    """
    where, dest = location(source), Path(destination).resolve()
    if isinstance(where, Path):
        put_right(where)  # a restore stopped part way may have moved the store aside
    put_right(dest)  # a backup stopped part way left its work folder
    check_destination(dest, where)
    partial = work(dest, "partial", "destination")
    try:
        if isinstance(where, Path):
            backend, tally = "embedded", snapshot(where / DB, partial.path / DB, bars)
        else:
            backend, tally = "postgres", from_postgres(where, partial.path, bars, progress)
        db = partial.path / DB
        manifest = Manifest(
            FORMAT,
            version_of_likewise(),
            backend,
            datetime.now(UTC).isoformat(timespec="seconds"),
            tally,
            {DB: {"sha256": sha256(db, bars), "bytes": db.stat().st_size}},
        )
        (partial.path / MANIFEST).write_text(json.dumps(manifest.as_dict(), indent=2) + "\n")
        for name in (DB, MANIFEST):
            fsync(partial.path / name)
        os.replace(partial.path, dest)  # onto nothing, or onto an empty folder
        fsync(dest.parent)
    except OSError as exc:
        raise StoreError(f"writing the backup to {dest} failed: {reason(exc)}") from exc
    finally:
        partial.close()
    return manifest


def verify_backup(source: str | Path, *, bars: Bars = no_bars) -> Manifest:
    """Check a backup without restoring it: every file's size and sha256, the database's
    integrity and its counts against the manifest. Returns the manifest."""
    folder = Path(source).resolve()
    manifest = Manifest.read(folder)
    for name, entry in manifest.files.items():
        check_file(folder / name, entry, None, bars)
    uri = f"{(folder / DB).as_uri()}?mode=ro&immutable=1"  # reads, writes nothing
    try:
        db = sqlite3.connect(uri, uri=True)
        try:
            check_database(db, str(folder / DB))
            check_counts(manifest, counts(db), str(folder / DB))
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise StoreError(f"{folder / DB} is damaged: {exc}") from exc
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
    manifest and the restored counts against its counts before the target is replaced.

    A folder is replaced only while no other process has its store open (stop the servers
    first: they would go on writing to the replaced files); each one of this likewise that
    opens it meanwhile is refused until the restore is done. The restored folder keeps the
    mode and owner of the one it replaces."""
    folder = Path(source).resolve()
    put_right(folder)  # a PostgreSQL restore stopped part way staged beside it
    manifest = Manifest.read(folder)
    where = location(target)
    if isinstance(where, str):
        staging = work(folder, "restore", "source")  # beside the backup, not in $TMPDIR
        try:
            stage(folder, manifest, staging.path, bars)
            into_postgres(where, staging.path, manifest, force, progress)
        except OSError as exc:
            raise StoreError(f"restoring into {redact(where)} failed: {reason(exc)}") from exc
        finally:
            staging.close()
        return manifest
    put_right(where)
    check_target(where, folder, force)
    with alone(where):
        staging = work(where, "restore", "data")
        try:
            stage(folder, manifest, staging.path, bars)
            new_generations(staging.path / DB)
            EmbeddedStore(staging.path).close()  # upgrades an older schema, builds the index
            check_counts(manifest, _counts(staging.path / DB), str(where))
            keep_owner(staging.path, where)
            swap(staging, where)
        except OSError as exc:
            raise StoreError(f"restoring into {where} failed: {reason(exc)}") from exc
        except sqlite3.Error as exc:  # the staged copy's meta and counts (a full disk)
            raise StoreError(f"restoring into {where} failed: {exc}") from exc
        finally:
            staging.close()
    return manifest


def _counts(db_file: Path) -> dict[str, int]:
    db = sqlite3.connect(db_file)
    try:
        return counts(db)
    finally:
        db.close()
