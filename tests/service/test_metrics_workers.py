"""`likewise serve --workers 2`: a scrape of either worker sees the sum over both, and the
folder the workers count in is made fresh and removed (issue 19)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.service.test_access_log import ingested, serving

ROUTE = "/v1/users/{user_id}/recommendations"


def json_lines(log: Path) -> list[dict[str, Any]]:
    lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
    return [json.loads(line) for line in lines]


def accessed(log: Path, route: str) -> list[dict[str, Any]]:
    return [r for r in json_lines(log) if r["logger"] == "likewise.access" and r["route"] == route]


def logged(log: Path, route: str, count: int) -> list[dict[str, Any]]:
    """The access lines of `route`, once there are `count`: a line is written after its
    response, once the request is counted, so the client may see the response first."""
    deadline = time.monotonic() + 30
    while len(lines := accessed(log, route)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(lines)} access lines of {route}, not {count}")
        time.sleep(0.05)
    assert len(lines) == count
    return lines


def total(families: dict[str, Any], family: str, sample: str, **labels: str) -> float:
    return sum(
        s.value
        for s in families[family].samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    )


@pytest.mark.slow
def test_a_scrape_of_any_worker_sums_every_worker(tmp_path: Path) -> None:
    data = ingested(tmp_path)
    tmp = tmp_path / "tmp"  # where `serve` makes its folder (tempfile reads TMPDIR)
    tmp.mkdir()
    with serving(data, "--workers", "2", "--log-format", "json", TMPDIR=str(tmp)) as (url, log):
        [shared] = tmp.glob("likewise-metrics-*")
        asked, pids = 0, set()
        with ThreadPoolExecutor(4) as pool:  # at once, on new connections: both workers answer
            while len(pids) < 2 and asked < 400:
                urls = [f"{url}/v1/users/u{asked + k}/recommendations" for k in range(8)]
                assert [r.status_code for r in pool.map(httpx.get, urls)] == [200] * 8
                asked += 8
                pids = {r["pid"] for r in logged(log, ROUTE, asked)}
        assert len(pids) == 2, "one worker answered every request"
        scrapes, scraped_by = 0, set()
        while len(scraped_by) < 2 and scrapes < 100:  # a scrape answered by either worker
            families = {
                f.name: f for f in text_string_to_metric_families(httpx.get(f"{url}/metrics").text)
            }
            requests = "likewise_http_requests"
            assert total(families, requests, f"{requests}_total", route=ROUTE) == asked
            seconds = "likewise_http_request_seconds"
            assert total(families, seconds, f"{seconds}_count", route=ROUTE) == asked
            lists = "likewise_recommendations"
            assert total(families, lists, f"{lists}_total", strategy="popular") == asked
            assert "process_cpu_seconds" in families  # the answering worker's own
            scrapes += 1
            scraped_by = {r["pid"] for r in logged(log, "/metrics", scrapes)}
        assert scraped_by == pids, "one worker answered every scrape"
        assert len({p.stem.rpartition("_")[2] for p in shared.glob("counter_*.db")}) == 2
    assert not list(tmp.glob("likewise-metrics-*")), "serve left its metrics folder behind"


def test_each_copy_of_the_caches_counts_adds_what_is_new() -> None:
    """A worker's caches count on their own; each copy into its metrics files adds only the
    lookups since the one before, so the sum over copies is the caches' count."""
    from prometheus_client import CollectorRegistry

    from likewise.service.metrics import SharedCacheLookups

    counts = {"recommend": {"hits": 3, "misses": 1}, "similar": {"hits": 0, "misses": 2}}
    registry = CollectorRegistry()
    shared = SharedCacheLookups(lambda: counts, registry)
    shared.sync()
    counts["recommend"] = {"hits": 5, "misses": 1}
    shared.sync()
    shared.sync()  # nothing new
    value = registry.get_sample_value
    assert value("likewise_cache_lookups_total", {"cache": "recommend", "outcome": "hit"}) == 5
    assert value("likewise_cache_lookups_total", {"cache": "recommend", "outcome": "miss"}) == 1
    assert value("likewise_cache_lookups_total", {"cache": "similar", "outcome": "miss"}) == 2
    assert value("likewise_cache_lookups_total", {"cache": "similar", "outcome": "hit"}) is None
