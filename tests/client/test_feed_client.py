"""The Client's feed calls against a real server answer as the Engine's do: what a push
queued, a bad push refused naming the same field, and the queue's state."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.client.conftest import WRITE, Server

from likewise import Client, Engine
from likewise.errors import InvalidInput

PUSHES = [
    [{"id": "a", "title": "moon rocket"}, {"id": "b", "title": "pasta"}],
    [{"id": "a", "title": "moon rocket"}],  # waiting already: not queued again
    [{"id": "b", "deleted": True}],
]
BAD = [{"id": "c", "title": "fine"}, {"id": "d", "title": 3}]


def test_the_clients_feed_calls_answer_as_the_engines(server: Server, tmp_path: Path) -> None:
    with (
        Engine.open(str(tmp_path / "data"), model="hashing-64") as engine,
        Client(server.url, api_key=WRITE) as client,
    ):
        for push in PUSHES:
            assert client.push_feed(push) == engine.push_feed(push)
        for target in (client, engine):
            with pytest.raises(InvalidInput) as refused:
                target.push_feed(BAD)
            assert refused.value.field == "items[1].title"
        remote, local = client.feed_status(), engine.feed_status()
        assert (remote.pending, remote.done, remote.failed) == (3, 0, 0)
        assert (local.pending, local.done, local.failed) == (3, 0, 0)
        assert remote.lag >= 0 and remote.failures == local.failures == []
