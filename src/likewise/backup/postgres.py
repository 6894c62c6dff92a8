"""PostgreSQL: backed up as one snapshot copied into an embedded store, restored in one
transaction. A `PostgresStore` is given one connection for every read and write, inside the
transaction the caller holds open, so `likewise copy` (and its checks) runs on that snapshot or
in that transaction unchanged."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from likewise.backup.files import DB, Bars, Manifest, check_counts, counts
from likewise.backup.sqlite import snapshot
from likewise.copy import copy_between
from likewise.errors import InvalidInput, StoreError
from likewise.store import TEXT, EmbeddedStore, Store, StoreInfo, open_store
from likewise.store.location import redact
from likewise.store.sql import TABLES

if TYPE_CHECKING:
    from psycopg import Connection

__all__ = ["from_postgres", "into_postgres"]


def from_postgres(url: str, partial: Path, bars: Bars, progress: bool) -> dict[str, int]:
    """Copy the database into an embedded store in one snapshot, then snapshot that file."""
    staging = partial / ".staging"
    with _transaction(url, read_only=True) as conn:
        source = _on(url, conn)
        try:
            target = EmbeddedStore(staging)
            try:
                copy_between(source, target, progress=progress)
            finally:
                target.close()
        finally:
            source.close()
    tally = snapshot(staging / DB, partial / DB, bars)
    shutil.rmtree(staging)
    return tally


def into_postgres(url: str, staging: Path, manifest: Manifest, force: bool, progress: bool) -> None:
    """Copy the staged store into the database in one transaction, committed only once the
    copy is verified and the counts are the manifest's."""
    from likewise.store.postgres.schema import WRITE_LOCK

    source = EmbeddedStore(staging)
    try:
        with _transaction(url, read_only=False) as conn:
            target = _on(url, conn)
            try:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))  # servers wait
                if target.info is not None or any(counts(conn).values()):
                    if not force:
                        raise InvalidInput(
                            f"{redact(url)} is not empty: restore replaces a store only with "
                            "--force",
                            field="data",
                        )
                    _wipe(conn)
                copy_between(source, target, progress=progress)
                check_counts(manifest, counts(conn), redact(url))
            finally:
                target.close()
    finally:
        source.close()


@contextmanager
def _transaction(url: str, *, read_only: bool) -> Iterator[Connection[Any]]:
    """One connection inside one transaction, rolled back if the block raises; `read_only`
    reads one snapshot (REPEATABLE READ)."""
    open_store(url).close()  # migrates the schema as every open does; names a missing extra
    import psycopg
    from pgvector.psycopg import register_vector

    try:
        with psycopg.Connection.connect(url, autocommit=True, connect_timeout=10) as conn:
            if read_only:
                conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                conn.read_only = True
            register_vector(conn)
            with conn.transaction():
                yield conn
    except psycopg.Error as exc:
        raise StoreError(f"{redact(url)}: {' '.join(str(exc).split())}") from exc


def _on(url: str, conn: Connection[Any]) -> Store:
    """The PostgreSQL store with every read and write on `conn`, inside its transaction."""
    from likewise.store.postgres import PgConfig, PostgresStore

    class OneTransaction(PostgresStore):
        @property
        def info(self) -> StoreInfo | None:
            self._refresh_meta()  # never stale: this transaction may have just changed it
            return self._info

        @contextmanager
        def _read(self) -> Iterator[Connection[Any]]:
            yield conn

        @contextmanager
        def _write(
            self, *, catalog: bool = False, exclusive: bool = True
        ) -> Iterator[Connection[Any]]:
            with conn.transaction():  # a savepoint: the caller's transaction commits it all
                yield conn

    return OneTransaction(url, config=PgConfig(pool_min=0, pool_max=1))  # the pool is unused


def _wipe(conn: Connection[Any]) -> None:
    """Empty a likewise database inside the open transaction, as a new one is: its spaces,
    items, activity and model."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'spaces'").fetchone()
    for name in json.loads(row[0]) if row else {}:  # names a store checked when it made them
        if name != TEXT:  # its vectors are a column of `items`
            conn.execute(f"DROP TABLE space_{name}")
    conn.execute("DELETE FROM items")
    for table in TABLES:
        conn.execute(f"DELETE FROM {table}")
    conn.execute("DELETE FROM meta")
