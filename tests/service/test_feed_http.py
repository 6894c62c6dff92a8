"""The feed over HTTP: a JSON feed on a loopback server polled with ETag and
If-Modified-Since (a 304 queues nothing), pushes to POST /v1/feed (a bad one is a 422 naming
the field, nothing queued), the queue in /metrics, and the Client's calls."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.service.conftest import WRITE, auth

from likewise import Engine
from likewise.engine.feed_worker import FeedWorker

MODIFIED = "Wed, 21 Oct 2026 07:28:00 GMT"


@dataclass
class JsonFeed:
    """What the loopback feed serves, and the conditional headers each request sent."""

    body: list[dict[str, Any]]
    etag: str = '"v1"'
    asked: list[tuple[str | None, str | None]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def json_feed() -> Iterator[JsonFeed]:
    feed = JsonFeed([{"id": "n1", "title": "rocket news"}, {"id": "n2", "title": "pasta"}])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            sent = (self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since"))
            feed.asked.append(sent)
            if sent[0] == feed.etag:
                self.send_response(304)
                self.end_headers()
                return
            payload = json.dumps({"items": feed.body}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("ETag", feed.etag)
            self.send_header("Last-Modified", MODIFIED)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    feed.url = f"http://127.0.0.1:{server.server_address[1]}/feed.json"
    try:
        yield feed
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_an_http_feed_is_polled_with_its_etag_and_a_304_queues_nothing(
    engine: Engine, json_feed: JsonFeed
) -> None:
    worker = FeedWorker(engine, urls=[json_feed.url], every=0.1)
    assert worker.turn()
    assert json_feed.asked == [(None, None)]  # nothing known yet: an unconditional GET
    assert {"n1", "n2"} <= set(engine.store.all_ids())
    done = engine.feed_status().done
    assert worker.turn()  # the same ETag: 304, nothing queued or applied
    assert json_feed.asked[-1] == ('"v1"', MODIFIED)
    assert engine.feed_status().done == done
    # the feed changes: a new ETag, an update and a deletion
    json_feed.etag = '"v2"'
    json_feed.body = [{"id": "n1", "title": "rocket landing news"}, {"id": "n2", "deleted": True}]
    assert worker.turn()
    assert json_feed.asked[-1] == ('"v1"', MODIFIED)
    assert "n2" not in engine.store.all_ids()
    assert engine.get("n1").title == "rocket landing news"
    assert engine.feed_status().done == done + 2
    # the cursor is in the store: a new worker (a restart) asks with the new ETag
    engine.store.feed_release(worker.owner)
    assert FeedWorker(engine, urls=[json_feed.url], every=0.1).turn()
    assert json_feed.asked[-1] == ('"v2"', MODIFIED)
    assert engine.feed_status().done == done + 2


def test_a_bad_record_in_a_feed_is_a_failure_naming_it(engine: Engine, json_feed: JsonFeed) -> None:
    json_feed.body = [{"id": "ok", "title": "fine"}, {"id": "bad", "title": ["x"]}]
    assert FeedWorker(engine, urls=[json_feed.url], every=0.1).turn()
    assert "ok" in engine.store.all_ids() and "bad" not in engine.store.all_ids()
    [failure] = engine.feed_status().failures
    assert failure["source"] == f"{json_feed.url}[1]" and failure["field"] == "title"


def test_a_push_is_queued_then_applied_and_a_bad_one_queues_nothing(
    secured: TestClient, engine: Engine
) -> None:
    elsewhere = "another-host:1:watch"  # a `likewise watch` elsewhere holds the lease
    assert engine.store.feed_lease(elsewhere, 60) == elsewhere
    items = [{"id": "p1", "title": "moon base"}, {"id": "space1", "deleted": True}]
    answer = secured.post("/v1/feed", json=items, headers=auth(WRITE))
    assert answer.status_code == 202
    assert answer.json() == {"upserts": 1, "deletions": 1, "queued": 2}
    for bad, named in (
        ([{"id": "p2", "title": "x"}, {"id": "p3", "title": {"a": 1}}], "items[1].title"),
        ([{"id": "p4", "deleted": True, "body": 5}], "items[0].body"),
        ([{"id": "p2", "title": "x"}, {"id": ""}], "items[1].id"),
        ([{"id": "p2", "title": "x"}, "p3"], "items[1]"),
    ):
        refused = secured.post("/v1/feed", json=bad, headers=auth(WRITE))
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["field"] == named
    # as PUT /v1/items: a record with nothing for the template to embed is a conflict
    refused = secured.post("/v1/feed", json=[{"id": "p5", "colour": "red"}], headers=auth(WRITE))
    assert refused.status_code == 409 and refused.json()["error"]["field"] == "items[0].title"
    assert secured.post("/v1/feed", json=items).status_code == 401  # a write key is needed
    status = secured.get("/v1/feed", headers=auth(WRITE)).json()
    assert (status["pending"], status["done"], status["failed"]) == (2, 0, 0)
    metrics = secured.get("/metrics").text
    assert "likewise_feed_pending 2.0" in metrics
    assert "likewise_feed_done_total 0.0" in metrics
    lag = next(line for line in metrics.splitlines() if line.startswith("likewise_feed_lag"))
    assert float(lag.split()[1]) >= 0
    # The lease given up, the server applies its pushes itself (no feed source set): the
    # next push wakes its worker.
    engine.store.feed_release(elsewhere)
    secured.post("/v1/feed", json=[{"id": "p6", "title": "lunar"}], headers=auth(WRITE))
    deadline = time.monotonic() + 30
    while engine.feed_status().pending and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "p1" in engine.store.all_ids() and "space1" not in engine.store.all_ids()
    assert "p6" in engine.store.all_ids()
    metrics = secured.get("/metrics").text
    assert "likewise_feed_pending 0.0" in metrics and "likewise_feed_done_total 3.0" in metrics
