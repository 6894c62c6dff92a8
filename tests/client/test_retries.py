"""Retries against a tiny loopback server that answers from a script: 503 and 429 with and
without `Retry-After`, slow answers, dropped connections, and no server at all."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from tests.client.conftest import free_port

from likewise import Client, StoreUnavailable
from likewise.client.http import retry_after

STATS = {"items": 3, "events": 0}
UNAVAILABLE = {"error": {"code": "store_unavailable", "message": "database locked", "field": None}}


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=lambda: STATS)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    drop: bool = False  # close the connection without an answer


class Script:
    """The answers to give, in order (the last one repeats), and the requests seen."""

    def __init__(self) -> None:
        self.answers: list[Answer] = [Answer()]
        self.seen: list[tuple[str, str, bytes]] = []
        self.lock = threading.Lock()
        self.url = ""

    def next(self, method: str, path: str, body: bytes) -> Answer:
        with self.lock:
            self.seen.append((method, path, body))
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            answer = script.next(self.command, self.path, body)
            time.sleep(answer.delay)
            if answer.drop:
                self.close_connection = True
                return
            data = json.dumps(answer.body).encode()
            self.send_response(answer.status)
            for name, value in {**answer.headers, "Content-Type": "application/json"}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *_: Any) -> None:  # quiet
            pass

    return Handler


@pytest.fixture
def script() -> Iterator[Script]:
    found = Script()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(found))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    found.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield found
    server.shutdown()
    server.server_close()


def client_for(url: str, waits: list[float], **options: Any) -> Client:
    """A client that records each wait instead of sleeping it."""
    client = Client(url, **options)
    client.transport.sleep = waits.append
    return client


def test_a_503_with_retry_after_is_retried_after_it(script: Script) -> None:
    script.answers = [Answer(503, UNAVAILABLE, {"Retry-After": "1"}), Answer()]
    waits: list[float] = []
    with client_for(script.url, waits) as client:
        assert client.count() == 3
    assert waits == [1.0] and len(script.seen) == 2


def test_a_429_is_retried_and_retry_after_is_capped(script: Script) -> None:
    script.answers = [Answer(429, {}, {"Retry-After": "3600"}), Answer(429, {}), Answer()]
    waits: list[float] = []
    with client_for(script.url, waits, max_wait=0.25, backoff=0.1) as client:
        assert client.count() == 3
    assert waits[0] == 0.25  # an hour asked for, capped
    assert 0.1 <= waits[1] <= 0.2  # no Retry-After: backoff * 2**1, jittered
    assert len(script.seen) == 3


def test_an_http_date_retry_after_counts_from_now() -> None:
    now = time.time()
    assert retry_after(formatdate(now + 30, usegmt=True), now) == pytest.approx(30, abs=1)
    assert retry_after(formatdate(now - 30, usegmt=True), now) == 0.0
    assert retry_after("2.5") == 2.5 and retry_after("-4") == 0.0
    assert retry_after("soon") is None and retry_after(None) is None


def test_backoff_doubles_and_the_last_503_raises_what_the_body_names(script: Script) -> None:
    script.answers = [Answer(503, UNAVAILABLE)]
    waits: list[float] = []
    with (
        client_for(script.url, waits, retries=3, backoff=0.1) as client,
        pytest.raises(StoreUnavailable, match="database locked"),
    ):
        client.stats()
    assert len(script.seen) == 4 and len(waits) == 3
    for k, wait in enumerate(waits):
        assert 0.1 * 2**k * 0.5 <= wait <= 0.1 * 2**k
    assert all(method == "GET" and path == "/v1/stats" for method, path, _ in script.seen)


def test_no_retries_means_one_try(script: Script) -> None:
    script.answers = [Answer(503, UNAVAILABLE)]
    waits: list[float] = []
    with client_for(script.url, waits, retries=0) as client, pytest.raises(StoreUnavailable):
        client.count()
    assert waits == [] and len(script.seen) == 1


ACCEPTED = {"accepted": 1, "duplicates": 0, "skipped": 0, "created": 0}


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        pytest.param(Answer(delay=0.6), "no answer in time", id="timeout"),
        pytest.param(Answer(drop=True), "cannot reach", id="dropped"),
    ],
)
def test_a_lost_answer_is_retried_only_when_the_request_is_safe_to_repeat(
    script: Script, answer: Answer, words: str
) -> None:
    script.answers = [answer]
    waits: list[float] = []
    url = script.url
    with client_for(url, waits, timeout=0.2, retries=2, backoff=0.01) as client:
        with pytest.raises(StoreUnavailable, match=f"{words}: GET {url}/v1/stats") as failed:
            client.count()  # a GET: repeated
        assert "tried 3 times" in str(failed.value)
        assert len(script.seen) == 3
        with pytest.raises(StoreUnavailable, match=words):
            client.record("u1", "a1", "click")  # no event_id: once only
        assert len(script.seen) == 4
        with pytest.raises(StoreUnavailable, match=words):
            client.record_many([{"user_id": "u1", "item_id": "a1", "type": "click"}])
        assert len(script.seen) == 5
        events = [
            {"user_id": "u1", "item_id": "a1", "type": "click", "event_id": f"e{k}"}
            for k in range(2)
        ]
        with pytest.raises(StoreUnavailable, match=words):
            client.record_many(events)  # every event has an event_id: repeated
        assert len(script.seen) == 8
        with pytest.raises(StoreUnavailable, match=words):
            client.track("u1", "shelf", ["a1"])  # an impression: once only
        assert len(script.seen) == 9
    script.answers = [answer, Answer(body=ACCEPTED)]
    with client_for(url, waits, timeout=0.2, retries=2) as client:
        assert client.record("u1", "a1", "click", event_id="e9") is True  # repeated, then done
    sent = [json.loads(body) for method, _, body in script.seen[-2:]]
    assert (
        sent[0] == sent[1] == {"user_id": "u1", "item_id": "a1", "type": "click", "event_id": "e9"}
    )


def test_no_server_is_retried_for_any_request_and_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nobody listens: nothing is ever sent
    waits: list[float] = []
    with (
        client_for(url, waits, retries=2, backoff=0.01) as client,
        pytest.raises(StoreUnavailable, match=f"cannot reach: POST {url}/v1/events"),
    ):
        client.record("u1", "a1", "click")
    assert len(waits) == 2
