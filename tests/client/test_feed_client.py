"""The Client's feed calls against a real server answer as the Engine's do: what a push
queued, a bad push refused naming the same field, and the queue's state."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.client.conftest import WRITE, Server

from likewise import Client, Engine
from likewise.errors import InvalidInput

PUSH = [{"id": "a", "title": "moon rocket"}, {"id": "b", "title": "pasta"}]
BAD = [{"id": "c", "title": "fine"}, {"id": "d", "title": 3}]


def test_the_clients_feed_calls_answer_as_the_engines(server: Server, tmp_path: Path) -> None:
    with (
        Engine.open(str(tmp_path / "data"), model="hashing-64") as engine,
        Client(server.url, api_key=WRITE) as client,
    ):
        assert client.push_feed(PUSH) == engine.push_feed(PUSH)
        for target in (client, engine):
            with pytest.raises(InvalidInput) as refused:
                target.push_feed(BAD)
            assert refused.value.field == "items[1].title"
        local = engine.feed_status()  # queued: an engine applies what a worker runs
        assert (local.pending, local.done, local.failed) == (2, 0, 0)
        deadline = time.monotonic() + 30  # the server applies its pushes itself
        while (remote := client.feed_status()).pending and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (remote.pending, remote.done, remote.failed) == (0, 2, 0)
        assert remote.lag == 0 and remote.failures == local.failures == []
