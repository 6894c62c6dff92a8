"""The dashboard's Feed section in a real Chromium: what waits, what was applied, what was
refused and why (a refused record's text shown as text, never as markup)."""

from __future__ import annotations

import json
from typing import Any

from tests.web.conftest import XSS
from tests.web.test_pages import ready

from likewise import Engine
from likewise.engine.feed_worker import FeedWorker
from likewise.store.feed import FeedChange


def test_the_dashboard_shows_the_feeds_queue_and_its_failures(
    site: tuple[str, Engine], page: Any
) -> None:
    base, engine = site
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    engine.push_feed([{"id": "n1", "title": "moon news"}, {"id": "food1", "deleted": True}])
    FeedWorker(engine, every=0.1).turn()  # applied: 2 done
    engine.push_feed([{"id": "n2", "title": "more moon news"}])  # waiting: 1
    error = json.dumps({"source": "drop.jsonl:7", "field": "title", "error": XSS})
    engine.store.feed_enqueue([FeedChange("", "fail", "drop.jsonl:7", error=error)])
    ready(page, f"{base}/dashboard")
    shown = dict(
        zip(
            page.locator("#feed dt").all_inner_texts(),
            page.locator("#feed dd").all_inner_texts(),
            strict=True,
        )
    )
    assert {k: shown[k] for k in ("waiting", "applied", "refused")} == {
        "waiting": "1",
        "applied": "2",
        "refused": "1",
    }
    assert shown["lag"].endswith(" s") and float(shown["lag"].split()[0]) >= 0
    [row] = page.locator("#feed-failures tbody tr").all_inner_texts()
    assert row.split("\t")[:2] == ["drop.jsonl:7", "title"]
    assert page.evaluate("window.pwned") is None and errors == []
