"""Digest job files: a forget while a job is being written drops the user's row before the
file is complete, and one after drops it from the complete file."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from likewise.engine.digest_jobs import DigestJobs
from likewise.recommend import Recommendation, Recommended


def row(user: str) -> tuple[str, Recommendation]:
    return user, Recommendation(user, "dislike", [Recommended("i1", 0.5, "matches")])


def test_a_forget_during_and_after_a_job(tmp_path: Path) -> None:
    jobs = DigestJobs(tmp_path / "digests")
    halfway, go_on = threading.Event(), threading.Event()

    def make(progress: Callable[[int], None]) -> Iterator[tuple[str, Recommendation]]:
        def rows() -> Iterator[tuple[str, Recommendation]]:
            yield row("u1")
            yield row("u2")
            progress(2)
            halfway.set()
            go_on.wait()
            yield row("u3")
            progress(1)

        return rows()

    job = jobs.start(make, "weekly", 3, {})
    assert halfway.wait(60)
    assert jobs.get(job["id"])["status"] == "running"
    assert jobs.forget("u1") == 0  # still being written: dropped when it completes
    go_on.set()
    deadline = time.monotonic() + 60  # a bound on a hang, not a measure
    while jobs.get(job["id"])["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    state = jobs.get(job["id"])
    assert (state["status"], state["progress"], state["users"], state["lists"]) == (
        "done",
        1.0,
        3,
        3,
    )

    def users() -> list[str]:
        return [json.loads(line)["user_id"] for line in b"".join(jobs.rows(job["id"])).splitlines()]

    assert users() == ["u2", "u3"]
    assert jobs.forget("u3") == 1
    assert users() == ["u2"]
    assert not list((tmp_path / "digests").glob("*.part")) and b'"u1"' not in b"".join(
        p.read_bytes() for p in (tmp_path / "digests").iterdir()
    )
