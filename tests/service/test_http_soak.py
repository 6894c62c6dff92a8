"""A real server on loopback: a bounded soak of mixed reads and writes, then kill -9 and a
restart that still holds every acknowledged write."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.service.conftest import CATALOG

from likewise import Engine

SOAK_SECONDS = float(os.environ.get("LIKEWISE_SOAK_SECONDS", "60"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    data: Path | str, port: int, *extra: str, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """`likewise serve` on loopback for `data` (a directory or a URL), once it is ready."""
    command = [sys.executable, "-m", "likewise.cli.main", "--data", str(data), "serve"]
    log = log or Path(data).parent / "server.log"
    with log.open("ab") as sink:  # the child keeps its own handle
        proc = subprocess.Popen(
            [*command, "--port", str(port), *extra], stdout=subprocess.DEVNULL, stderr=sink
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"the server did not start: {log.read_text()}")


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    with Engine.open(str(tmp_path / "data"), model="hashing-64") as engine:
        engine.add_items(CATALOG)
    yield tmp_path / "data"


def test_soak_then_kill_9_and_restart(data: Path) -> None:
    port = free_port()
    server = start(data, port)
    base = f"http://127.0.0.1:{port}"
    acknowledged = {"events": 0, "items": 0}
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + SOAK_SECONDS

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=30) as http:
            while time.monotonic() < stop:
                roll = rng.random()
                user = f"u{rng.randrange(50)}"
                if roll < 0.4:
                    r = http.get(f"/v1/users/{user}/recommendations", params={"n": 3})
                elif roll < 0.55:
                    r = http.get(f"/v1/items/{rng.choice(CATALOG)['id']}/similar")
                elif roll < 0.9:
                    events = [
                        {"user_id": user, "item_id": rng.choice(CATALOG)["id"], "type": "click"}
                        for _ in range(rng.randint(1, 5))
                    ]
                    r = http.post("/v1/events", json=events)
                    if r.status_code == 200:
                        with lock:
                            acknowledged["events"] += r.json()["accepted"]
                else:
                    item = f"soak-{seed}-{rng.randrange(10**9)}"
                    r = http.put(f"/v1/items/{item}", json={"title": f"soak item {item}"})
                    if r.status_code == 201:
                        with lock:
                            acknowledged["items"] += 1
                if r.status_code >= 300:
                    errors.append(f"{r.request.method} {r.request.url}: {r.status_code} {r.text}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        stats = httpx.get(f"{base}/v1/stats").json()
        assert stats["events"] == acknowledged["events"] > 0
        assert stats["items"] == len(CATALOG) + acknowledged["items"]
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    again = start(data, port)
    try:
        stats = httpx.get(f"{base}/v1/stats").json()
        assert stats["events"] == acknowledged["events"]
        assert stats["items"] == len(CATALOG) + acknowledged["items"]
        assert httpx.get(f"{base}/v1/items/space1/similar").status_code == 200
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=30)
