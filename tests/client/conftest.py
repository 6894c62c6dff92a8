"""A real `likewise serve` on loopback, from the sources under test, over a fresh store."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import likewise
from likewise import Engine

READ, WRITE = "client-read-key", "client-write-key"
SRC = Path(likewise.__file__).resolve().parents[1]  # the sources under test, for the child


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    url: str
    log: Path


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`likewise serve` over a new, empty store of the hashing embedder, with a read and a
    write key (one per test: a scenario starts from nothing on both sides)."""
    folder = tmp_path_factory.mktemp("served")
    data = folder / "data"
    Engine.open(str(data), model="hashing-64").close()
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        "LIKEWISE_READ_KEYS": f'["{READ}"]',
        "LIKEWISE_WRITE_KEYS": f'["{WRITE}"]',
    }
    command = [sys.executable, "-m", "likewise.cli.main", "--data", str(data), "serve"]
    log = folder / "server.log"
    with log.open("wb") as sink:  # the child keeps its own handle
        proc = subprocess.Popen(
            [*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=sink, env=env
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the server did not start: {log.read_text()}")
            time.sleep(0.1)
        yield Server(url, log)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
