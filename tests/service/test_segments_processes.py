"""A user's segments as a running server sees them: a `likewise serve` process caching its
lists (and the segments it read) for an hour, and another process changing the user's
properties and the segments; only what the store tells the server can change its answer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.service.test_http_soak import free_port, start
from tests.test_segments import BOOST, CATALOG, _a, _boosted

from likewise import Engine

DEADLINE = 10.0  # seconds: generous; being told takes milliseconds


def _until(read: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    deadline = time.monotonic() + DEADLINE
    while True:
        got = read()
        if done(got) or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_another_process_moving_a_user_into_a_segment_changes_the_servers_lists(
    location: str, tmp_path: Path
) -> None:
    with Engine.open(location, model="hashing-64") as engine:
        engine.add_items(CATALOG)
        engine.record("u1", "i01", "like")
        engine.set_user_properties("u1", {"plan": "free"})
        engine.create_segment("premium", {"plan": "premium"})
    port = free_port()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LIKEWISE_CACHE_SECONDS", "3600")
        env.setenv("LIKEWISE_CONTEXT_RULES", json.dumps(BOOST))
        proc = start(location, port, log=tmp_path / "server.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as server:

            def shown() -> list[str]:
                got = server.get("/v1/users/u1/recommendations", params={"n": 8})
                assert got.status_code == 200, got.text
                return [i["id"] for i in got.json()["items"]]

            before = shown()
            assert shown() == before  # served again (from its cache)
            with Engine.open(location) as other:
                other.set_user_properties("u1", {"plan": "premium"})
            joined = _until(shown, lambda ids: ids != before)
            assert _boosted(joined) and _a(joined) > _a(before)
            with Engine.open(location) as other:
                other.delete_segment("premium")
            assert _until(shown, lambda ids: ids == before) == before
    finally:
        proc.terminate()
        proc.wait(timeout=30)
