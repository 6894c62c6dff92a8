"""PostgreSQL restarted under a running `likewise serve`: every request meanwhile is a 503
with `Retry-After` and a JSON body (never a 500 or a dropped connection), and the same server
process answers 200 again once the database is back, without a restart.

The server is a real `likewise serve` process on loopback; the database is a PostgreSQL
server of the test's own, stopped and started on the same data folder while request loops
(one per kind of request, reads and writes) keep running against the server.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.faults.conftest import restart_postgres
from tests.service.test_http_soak import free_port, start

from likewise import Engine

ITEMS = [{"id": f"i{k}", "title": f"item {k}", "category": "ab"[k % 2]} for k in range(30)]
DEADLINE = 120.0  # seconds any phase may take before the test gives up (never a threshold)


class Traffic:
    """Request loops against the server, one thread per kind, until `stop` (or a bound)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.log: list[tuple[str, float, httpx.Response | Exception]] = []
        self.sent_events: list[str] = []
        self.acknowledged: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._loop, args=(name, call), daemon=True)
            for name, call in self._kinds().items()
        ]

    def _kinds(self) -> dict[str, Callable[[httpx.Client], httpx.Response]]:
        def event(http: httpx.Client) -> httpx.Response:
            event_id = uuid.uuid4().hex
            with self._lock:
                self.sent_events.append(event_id)
            body = {"user_id": "u", "item_id": "i2", "type": "click", "event_id": event_id}
            response = http.post("/v1/events", json=body)
            if response.status_code == 200:
                with self._lock:
                    self.acknowledged.append(event_id)
            return response

        return {
            "recommend": lambda http: http.get("/v1/users/u/recommendations", params={"n": 3}),
            "similar": lambda http: http.get("/v1/items/i1/similar"),
            "item": lambda http: http.get("/v1/items/i3"),
            "ready": lambda http: http.get("/readyz"),
            "event": event,
        }

    def _loop(self, name: str, call: Callable[[httpx.Client], httpx.Response]) -> None:
        until = time.monotonic() + 3 * DEADLINE  # bounded even if the test fails to stop it
        with httpx.Client(base_url=self.base, timeout=30) as http:
            while not self._stop.is_set() and time.monotonic() < until:
                try:
                    outcome: httpx.Response | Exception = call(http)
                except httpx.TransportError as exc:
                    outcome = exc
                with self._lock:
                    self.log.append((name, time.monotonic(), outcome))
                time.sleep(0.05)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def since(self, moment: float) -> list[tuple[str, float, httpx.Response | Exception]]:
        with self._lock:
            return [entry for entry in self.log if entry[1] >= moment]

    def wait(self, moment: float, status: int, times: int = 1) -> None:
        """Until every kind has answered `status` `times` times after `moment`."""
        kinds = set(self._kinds())
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            seen = Counter(
                name
                for name, _, outcome in self.since(moment)
                if isinstance(outcome, httpx.Response) and outcome.status_code == status
            )
            if all(seen[kind] >= times for kind in kinds):
                return
            time.sleep(0.1)
        raise AssertionError(f"not every request answered {status}: {self.summary(moment)}")

    def summary(self, moment: float) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for name, _, outcome in self.since(moment):
            code = outcome.status_code if isinstance(outcome, httpx.Response) else repr(outcome)
            out.setdefault(name, []).append(code)
        return out


def test_postgres_restarted_under_a_running_server(
    own_postgres: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = own_postgres.get_uri()
    with Engine.open(url, model="hashing-64") as engine:
        engine.add_items(ITEMS)
        engine.record("u", "i1", "like")
    monkeypatch.setenv("LIKEWISE_CACHE_SIZE", "0")  # every list asks the database
    port = free_port()
    server = start(url, port, log=tmp_path / "server.log")
    traffic = Traffic(f"http://127.0.0.1:{port}")
    try:
        began = time.monotonic()
        traffic.start()
        traffic.wait(began, 200)

        stopped = time.monotonic()
        own_postgres.cleanup()  # the database goes away under the running requests
        traffic.wait(stopped, 503, times=3)  # the outage lasts: each kind meets it again

        restarted = time.monotonic()
        restart_postgres(own_postgres)
        traffic.wait(restarted, 200)
        traffic.stop()
        assert server.poll() is None, "the server process exited"

        for name, _, outcome in traffic.since(began):
            assert isinstance(outcome, httpx.Response), f"{name}: {outcome!r}"
            assert outcome.status_code in (200, 503), (name, outcome.status_code, outcome.text)
            if outcome.status_code == 503:
                assert outcome.headers["Retry-After"] == "1", name
                error = outcome.json()["error"]
                assert error["code"] == "store_unavailable", (name, error)
                assert error["message"], name
        answered = traffic.since(restarted)
        last = {name: outcome for name, _, outcome in answered}
        assert all(isinstance(o, httpx.Response) and o.status_code == 200 for o in last.values())
    finally:
        traffic.stop()
        server.terminate()
        server.wait(timeout=30)

    # Every acknowledged event is stored; none but those sent is (a 503 stored nothing, unless
    # the database went away after the commit and before the answer).
    with Engine.open(url) as engine:
        stored = {e.event_id for e in engine.user_events("u", limit=1000).events}
    assert set(traffic.acknowledged) <= stored
    assert stored - {None} <= set(traffic.sent_events)  # the first event has no id
    assert len(traffic.acknowledged) < len(traffic.sent_events), "no write met the outage"
