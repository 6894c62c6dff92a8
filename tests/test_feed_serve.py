"""A real `likewise serve` following a folder (`feed_folders`) while it answers searches:
drops (new items, an update, a deletion) become searchable and nothing is embedded twice; a
server killed (SIGKILL) in the middle of a batch leaves the queue to the next start, which
finishes it without embedding again what was written. And `likewise watch` stops on SIGTERM.

The model is the fake OpenAI server on loopback, which counts every text it is sent: it lives
in the test, so its count survives the server's death.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.fake_openai import FakeOpenAI, fake_openai
from tests.service.test_http_soak import free_port, start

from likewise import Engine
from likewise.store import open_store

PROBE = "probe query while the feed runs"  # the searches' text, left out of the counts


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeOpenAI]:
    """The fake model, and the settings a served store follows `drops` with."""
    with fake_openai() as server:
        settings = {
            "OPENAI_BASE_URL": server.url,
            "OPENAI_RETRIES": "0",
            "OPENAI_BATCH_SIZE": "5",  # a request of 5 texts, one in flight ...
            "OPENAI_CONCURRENCY": "1",
            "BATCH_SIZE": "5",  # ... and a durable write of 5 items: a kill falls between
            "FEED_FOLDERS": json.dumps([str(tmp_path / "drops")]),
            "FEED_POLL_SECONDS": "0.2",
            "FEED_BATCH": "10",
        }
        for name, value in settings.items():
            monkeypatch.setenv(f"LIKEWISE_{name}", value)
        (tmp_path / "drops").mkdir()
        Engine.open(str(tmp_path / "data"), model="openai:text-embedding-3-small@256").close()
        yield server


def drop(folder: Path, name: str, records: Sequence[dict[str, Any]]) -> None:
    """A file written aside and renamed in, as a producer should."""
    tmp = folder / f".{name}.part"
    tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
    tmp.rename(folder / name)


def item(k: int, words: str = "") -> dict[str, Any]:
    return {"id": f"i{k}", "title": f"feed item {k} {words}".strip()}


def sent(fake: FakeOpenAI) -> int:
    """How many texts the model was sent so far (a mark to count from)."""
    with fake.lock:
        return len(fake.inputs)


def embedded(fake: FakeOpenAI, *spans: tuple[int, int | None]) -> Counter[str]:
    """The texts sent in `spans` of marks, counted; the searches' own probe left out."""
    with fake.lock:
        texts = fake.inputs
    return Counter(t for a, b in spans for t in texts[a:b] if t != PROBE)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def drained(url: str, done: int) -> Callable[[], bool]:
    def check() -> bool:
        status = httpx.get(f"{url}/v1/feed", timeout=10).json()
        return bool(status["pending"] == 0 and status["done"] >= done)

    return check


class Searches(threading.Thread):
    """Searches sent one after another while the feed runs; every answer must be a 200."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stopped, self.statuses = url, threading.Event(), Counter[int]()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self.stopped.is_set():
                answer = client.post("/v1/search", json={"text": PROBE, "n": 5})
                self.statuses[answer.status_code] += 1


def found(url: str, item_id: str, text: str) -> bool:
    """True when searching an item's own text finds it, at a cosine of 1 (the hashing model
    may give another item the same vector: it is then among the first, not always first)."""
    answer = httpx.post(f"{url}/v1/search", json={"text": text, "n": 5}, timeout=10).json()
    return any(h["id"] == item_id and h["score"] > 0.999 for h in answer["items"])


def test_drops_are_searchable_while_served_and_embedded_once_across_a_kill(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    drops, data = tmp_path / "drops", tmp_path / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start(data, port)
    searches = Searches(url)
    searches.start()
    try:
        drop(drops, "a.jsonl", [item(k) for k in range(12)])
        drop(drops, "b.jsonl", [item(1, "updated"), *[item(k) for k in range(12, 16)]])
        drop(drops, "c.jsonl", [{"id": "i2", "deleted": True}])
        wait_for(drained(url, 18), "the first drops")
        assert searches.statuses[200] > 0  # searches were answered meanwhile
        first = (0, sent(fake))  # the feed's texts; the checks' searches come after
        texts = embedded(fake, first)
        expected = {item(k)["title"] for k in range(16)} | {item(1, "updated")["title"]}
        assert set(texts) == expected and max(texts.values()) == 1
        for k in [0, *range(3, 16)]:
            assert found(url, f"i{k}", item(k)["title"])
        assert found(url, "i1", item(1, "updated")["title"])
        assert httpx.get(f"{url}/v1/items/i2").status_code == 404

        # a slow model, a larger drop, and SIGKILL once part of it is written
        fake.delay = 0.15
        mark = sent(fake)
        drop(drops, "d.jsonl", [item(k) for k in range(100, 140)])
        wait_for(lambda: len(embedded(fake, (mark, None))) >= 12, "the kill's moment")
        searches.stopped.set()
        searches.join(timeout=30)
        server.kill()
        server.wait(timeout=30)
    finally:
        searches.stopped.set()
        searches.join(timeout=30)
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
    assert set(searches.statuses) == {200}
    killed = (mark, sent(fake))
    store = open_store(str(data))
    try:
        written = {i.id: i.title for i in store.get(store.all_ids())}
        left = store.feed_counts().pending
    finally:
        store.close()
    assert left > 0, "the kill came after the last batch: nothing to resume"
    assert any(f"i{k}" in written for k in range(100, 140))

    fake.delay = 0.0
    server = start(data, port)
    try:
        wait_for(drained(url, 18 + 40), "the queue after the restart")
        resumed = (killed[1], sent(fake))
        # what was written before the kill is not embedded again ...
        assert not set(embedded(fake, resumed)) & set(written.values())
        # ... and each text once, but those in flight at the kill (embedded, not written)
        total = embedded(fake, first, killed, resumed)
        twice = {t for t, n in total.items() if n > 1}
        assert max(total.values()) <= 2 and not twice & set(written.values())
        assert len(twice) <= 5  # at most the one request in flight
        assert set(total) == expected | {item(k)["title"] for k in range(100, 140)}
        for k in range(100, 140):
            assert found(url, f"i{k}", item(k)["title"])
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    # the lifespan ended (the worker stopped and joined before the store closed)
    log = (tmp_path / "server.log").read_text()
    assert log.count("Application shutdown complete") == 1  # the killed one never got there
    assert "Traceback" not in log


def test_watch_follows_a_folder_until_sigterm(tmp_path: Path) -> None:
    data, drops = tmp_path / "data", tmp_path / "drops"
    drops.mkdir()
    Engine.open(str(data), model="hashing-64").close()
    command = [sys.executable, "-m", "likewise.cli.main", "--data", str(data), "watch"]
    watch = subprocess.Popen(
        [*command, "--folder", str(drops), "--every", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        drop(drops, "one.jsonl", [item(1), item(2), {"id": "", "title": "no id"}])

        def applied() -> bool:
            with Engine.open(str(data)) as engine:
                return sorted(engine.store.all_ids()) == ["i1", "i2"]

        wait_for(applied, "watch to apply the drop")
        watch.send_signal(signal.SIGTERM)
        _, err = watch.communicate(timeout=30)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.communicate(timeout=30)
    assert watch.returncode == 0, err
    assert "one.jsonl: 3 queued" in err
    assert "stopped: 2 applied, 1 failed, 0 waiting" in err
