"""Digest jobs answer alike on the embedded Engine and, through `likewise.Client`, on a live
`likewise serve`: the job's state, its rows (all but the random recommendation ids), and
the errors (class and field)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.client.conftest import WRITE, Server
from tests.client.test_congruence import CATALOG, EVENTS, Both

from likewise import Client, Engine

STATE = ("name", "status", "progress", "users", "total", "lists", "items", "args", "error")


@pytest.fixture
def both(server: Server, tmp_path: Path) -> Iterator[Both]:
    engine = Engine.open(str(tmp_path / "data"), model="hashing-64")
    client = Client(server.url, api_key=WRITE, timeout=30)
    yield Both(engine, client)
    client.close()
    engine.close()


def run(target: Engine | Client, **kwargs: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Start a digest, wait for it, and read its rows (less their random ids)."""
    job = target.start_digest("weekly", **kwargs)
    deadline = time.monotonic() + 60  # a bound on a hang, not a measure
    while job["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.02)
        job = target.digest_job(job["id"])
    rows = [json.loads(line) for line in b"".join(target.digest_rows(job["id"])).splitlines()]
    for row in rows:
        assert len(row.pop("recommendation_id")) == 32
    return {k: job[k] for k in STATE}, rows


def test_digest_jobs_answer_alike(both: Both) -> None:
    both("add_items", lambda t: t.add_items(CATALOG))
    both("record_many", lambda t: t.record_many(EVENTS))
    state, rows = both("digest", lambda t: run(t, n=3, where={"category": "news"}))
    assert state["status"] == "done" and state["lists"] == len(rows) == 8
    again = both("digest again", lambda t: run(t, n=3, users=["u1", "u2", "nobody"]))
    first = {r["user_id"]: {i["id"] for i in r["items"]} for r in rows}
    for row in again[1]:
        assert not {i["id"] for i in row["items"]} & first.get(row["user_id"], set())
    both("unknown job", lambda t: t.digest_job("0" * 32))
    both("unknown rows", lambda t: t.digest_rows("f" * 32))
    both("bad n", lambda t: t.start_digest("weekly", 0))
    both("bad name", lambda t: t.start_digest("Weekly!"))
    both("bad where", lambda t: t.start_digest("weekly", where={"year": {"gte": "soon"}}))
    both("bad strategy", lambda t: t.start_digest("weekly", strategy="best"))
