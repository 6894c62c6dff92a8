"""Digest job files: a forget while a job is being written drops the user's row before the
file is complete, and one after drops it from the complete file."""

from __future__ import annotations

import json
import os
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


def test_a_job_of_a_dead_process_whose_pid_was_reused_reads_interrupted(tmp_path: Path) -> None:
    """After a restart (a container's processes get the same pids again) the pid a running
    job names may be another live process: the job is still interrupted, not running."""
    folder = tmp_path / "digests"
    folder.mkdir()
    job = {
        "id": "0" * 32,
        "name": "weekly",
        "status": "running",
        "progress": 0.5,
        "users": 1,
        "total": 2,
        "lists": 1,
        "items": 1,
        "args": {},
        "created_at": time.time(),
        "finished_at": None,
        "error": None,
        "pid": os.getppid(),  # alive, but not the process that ran the job
        "started": "-1",  # when the process that ran it started
    }
    (folder / f"{job['id']}.json").write_text(json.dumps(job))
    assert DigestJobs(folder).get(job["id"])["status"] == "interrupted"
    # The process that started at that time is still running it.
    job["started"] = Path(f"/proc/{job['pid']}/stat").read_text().rpartition(")")[2].split()[19]
    (folder / f"{job['id']}.json").write_text(json.dumps(job))
    assert DigestJobs(folder).get(job["id"])["status"] == "running"
