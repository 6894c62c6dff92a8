"""`make demo` runs `likewise demo --serve`: the demo loads its titles, then serves them, as
`likewise serve` would (it stopped with an AttributeError once `serve` took `--log-level`,
which the demo does not offer)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_demo_serves_what_it_loaded(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "likewise.cli.main", "--data", str(tmp_path / "demo")]
    command += ["demo", "--users", "0", "--items", "40", "--serve", "--port", str(port)]
    with subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            deadline = time.monotonic() + 180
            ready = False
            while not ready and proc.poll() is None and time.monotonic() < deadline:
                try:
                    ready = httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
                except httpx.TransportError:
                    time.sleep(0.2)
            assert ready, proc.stderr.read() if proc.poll() is not None else "not ready"
            found = httpx.post(
                f"http://127.0.0.1:{port}/v1/search", json={"text": "toy story", "n": 5}
            )
            assert found.status_code == 200, found.text
            assert "Toy Story (1995)" in [hit["id"] for hit in found.json()["items"]]
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
