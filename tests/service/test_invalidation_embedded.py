"""Cached lists shared across processes on one embedded store: two `likewise serve` processes
on one folder, each caching its lists for an hour and checking for a newer model once an hour,
so only the `changes` rows a write leaves (store/embedded/changes.py) can make the other
server's next answer reflect it."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.service.test_invalidation import (
    _heard,
    delete_restales,
    event_restales,
    trained_elsewhere_is_served,
    two_servers,
)
from tests.test_training import ITEMS

from likewise import Engine
from likewise.store.changes import Change
from likewise.store.embedded import EmbeddedStore


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[httpx.Client, httpx.Client, Path]]:
    """Two servers on one new store folder, shared by this module's tests."""
    folder = tmp_path_factory.mktemp("inval") / "data"
    with two_servers(str(folder), folder.parent) as (a, b):
        yield a, b, folder


def test_a_users_event_through_one_process_restales_their_list_in_the_other(
    servers: tuple[httpx.Client, httpx.Client, Path],
) -> None:
    event_restales(*servers[:2])


def test_a_catalog_delete_through_one_process_restales_related_items_in_the_other(
    servers: tuple[httpx.Client, httpx.Client, Path],
) -> None:
    delete_restales(*servers[:2])


def test_a_model_trained_by_another_process_is_served_at_once(
    servers: tuple[httpx.Client, httpx.Client, Path],
) -> None:
    trained_elsewhere_is_served(servers[1], str(servers[2]))


def _listeners() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "likewise-listen"]


def test_what_each_write_tells_the_other_stores_and_rows_lost_mean_everything(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    with Engine.open(str(folder), model="hashing-64") as setup:
        setup.add_items(ITEMS)
    others = set(_listeners())  # a listener of an engine another test left open in this process
    listener = EmbeddedStore(folder)
    changes: list[Change] = []
    listener.subscribe(changes.append)
    writer = Engine.open(str(folder), model="hashing-64")
    try:
        writer.record("u1", "p0", "like")
        assert _heard(changes, lambda c: c.users == {"u1"} and not c.model)
        writer.add_items([{"id": "new", "title": "rocket new"}])
        assert _heard(changes, lambda c: c.users is None)
        changes.clear()
        assert listener.delete(["new"]) == 1  # its own write is not told back to it
        writer.record("u2", "p1", "like")
        assert _heard(changes, lambda c: c.users == {"u2"})
        assert changes == [Change(frozenset({"u2"}))]
        writer.train()
        assert _heard(changes, lambda c: c.model)
        changes.clear()
        with sqlite3.connect(folder / "likewise.db") as db:  # rows pruned before they were read
            db.execute(
                "INSERT INTO changes (seq, origin, users, model, at) "
                "SELECT max(seq) + 5, 'elsewhere', '[\"u9\"]', 0, 0 FROM changes"
            )
        db.close()
        assert _heard(changes, lambda c: c.users is None)
        assert Change(frozenset({"u9"})) not in changes
    finally:
        writer.close()
        listener.close()
    assert set(_listeners()) <= others  # each store's listener ended with its close
