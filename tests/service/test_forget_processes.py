"""Forgetting a user with two `likewise serve` processes on one store (what `--workers N`
makes): no impression the other process made before the forget is written after it, no
cached list of theirs is served by either, and after kill -9 no file of the embedded store
holds their id or their email."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.service.conftest import CATALOG
from tests.service.test_http_soak import free_port, start

from likewise import Engine

USER, EMAIL = "victim-7f3a", "victim@example.org"


def _servers(data: str, logs: Path) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    ports = free_port(), free_port()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for port, name in zip(ports, "ab", strict=True):
            procs.append(start(data, port, log=logs / f"{name}.log"))
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", timeout=30) as a,
            httpx.Client(base_url=f"http://127.0.0.1:{ports[1]}", timeout=30) as b,
        ):
            yield a, b
    finally:
        for proc in procs:  # kill -9: nothing is left to a clean shutdown
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


def _act(a: httpx.Client, b: httpx.Client) -> None:
    """The user acts through both servers, with their email in the events' context."""
    for client, item in ((a, "space1"), (b, "space2"), (a, "food1")):
        event = {"user_id": USER, "item_id": item, "type": "like", "context": {"email": EMAIL}}
        assert client.post("/v1/events", json=event).status_code in (200, 202)


def _race(a: httpx.Client, b: httpx.Client, engine: Engine) -> None:
    """B shows the user a list (its impression queued in B), A forgets the user at once;
    once B's queue has drained, nothing of the user is stored, and B computes afresh."""
    for _ in range(3):
        _act(a, b)
        assert b.get(f"/v1/users/{USER}/recommendations").json()["cached"] is False
        # B holds the list once it has heard A's events (each drops the user's cached list).
        deadline = time.monotonic() + 30
        while not b.get(f"/v1/users/{USER}/recommendations").json()["cached"]:
            assert time.monotonic() < deadline, "B never kept the list in its cache"
            time.sleep(0.05)
        gone = a.delete(f"/v1/users/{USER}")
        assert gone.status_code == 200 and gone.json()["deleted"]["events"] == 3
        time.sleep(1.0)  # B's impression writer runs every 0.2 s
        assert engine.user_events(USER).events == []
        # Neither list B showed before the forget was written after it.
        assert a.delete(f"/v1/users/{USER}").json()["deleted"]["impressions"] == 0
        again = b.get(f"/v1/users/{USER}/recommendations").json()
        assert again["cached"] is False  # B dropped its cached list of the forgotten user
        time.sleep(1.0)  # a list shown after the forget is stored as any other
        assert a.delete(f"/v1/users/{USER}").json()["deleted"]["impressions"] == 1


@pytest.mark.parametrize("backend", ["embedded", "postgres"])
def test_forget_holds_across_two_server_processes(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data = str(tmp_path / "data") if backend == "embedded" else request.getfixturevalue("pg_url")
    with Engine.open(data, model="hashing-64") as engine:
        engine.add_items(CATALOG)
    for a, b in _servers(data, tmp_path):
        with Engine.open(data) as engine:
            _race(a, b, engine)


def test_no_trace_of_a_forgotten_user_in_any_file_after_kill_9(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Engine.open(str(data), model="hashing-64") as engine:
        engine.add_items(CATALOG)
    for a, b in _servers(str(data), tmp_path):
        _act(a, b)
        for client in (a, b, a):
            client.get(f"/v1/users/{USER}/recommendations")
            client.get(f"/v1/users/{USER}/profile")
        time.sleep(0.5)  # every impression written
        assert a.delete(f"/v1/users/{USER}").json()["deleted"]["impressions"] == 3
        time.sleep(1.0)  # and whatever B still held has had its chance
    # Both servers are killed (-9): whatever a file holds now is what a crash leaves.
    traces = {
        str(path.relative_to(data)): [m for m in (USER, EMAIL) if m.encode() in path.read_bytes()]
        for path in data.rglob("*")
        if path.is_file()
    }
    assert any(name.endswith(".db") for name in traces)  # the files were read
    assert {name: found for name, found in traces.items() if found} == {}
