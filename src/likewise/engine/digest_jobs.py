"""Digest jobs: a newsletter made in a background thread, its state and rows kept in files.

Each job is two files in the jobs folder: `ID.json` (its state, rewritten after each page of
users) and `ID.jsonl` (its rows, one list a line, the name it gets once complete; before that
`ID.jsonl.part`). Any process on the same folder answers for any job: the state names the
process running it, and a job whose process is gone reads `interrupted`. So a restart leaves
a running job interrupted, with its rows so far in the `.part` file and its lists logged as
sent: start it again and those users get their next-best items.

The folder is `digests/` in the embedded store's data directory, else (PostgreSQL, Milvus)
`likewise-digests/<store>` under the system's temporary folder, on the host of the server
that ran the job. A forget deletes the user's rows from every job file in it (from a job
this process is running, before its file is complete; a job another process is running keeps
a row it made before the forget).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from likewise.errors import Conflict, NotFound
from likewise.recommend import Recommendation, new_id

__all__ = ["DigestJobs", "Rows"]

Rows = Iterator[tuple[str, Recommendation]]
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
CHUNK = 1 << 16


class DigestJobs:
    """The jobs of one folder: started here, read from here or from another process."""

    def __init__(self, folder: Path) -> None:
        self._path = folder
        self._lock = threading.Lock()  # one state write at a time in this process
        self._threads: dict[str, threading.Thread] = {}
        self._forgotten: dict[str, set[str]] = {}  # by running job: users forgotten meanwhile

    def start(
        self,
        make: Callable[[Callable[[int], None]], Rows],
        name: str,
        total: int | None,
        args: dict[str, Any],
    ) -> dict[str, Any]:
        """Make the digest with `make(progress)`, which checks its arguments (an error starts
        nothing), and write its rows in a thread; returns the job's state."""
        job: dict[str, Any] = {
            "id": new_id(),
            "name": name,
            "status": "running",
            "progress": 0.0 if total else None,
            "users": 0,
            "total": total,
            "lists": 0,
            "items": 0,
            "args": args,
            "created_at": time.time(),
            "finished_at": None,
            "error": None,
            "pid": os.getpid(),
            "started": _started(os.getpid()),  # the pid alone may be another's after a restart
        }
        rows = make(self._progress(job))
        self._path.mkdir(parents=True, exist_ok=True)
        self._save(job)
        thread = threading.Thread(
            target=self._run, args=(job, rows), name=f"likewise-digest-{job['id'][:8]}", daemon=True
        )
        self._threads[job["id"]] = thread
        started = _public(job)  # as it starts: the thread moves `job` on at once
        thread.start()
        return started

    def _run(self, job: dict[str, Any], rows: Rows) -> None:
        folder = self._path
        part = folder / f"{job['id']}.jsonl.part"
        try:
            with part.open("w", encoding="utf-8") as out:
                for _, rec in rows:
                    out.write(json.dumps({"digest": job["name"], **rec.as_dict()}) + "\n")
                    job["lists"] += 1
                    job["items"] += len(rec.items)
                    if job["lists"] % 256 == 0:
                        self._save(job)
            with self._lock:  # a forget now either sees the part file, or the whole one
                gone = self._forgotten.pop(job["id"], set())
                if gone:  # forgotten while it ran: their rows go before the file is complete
                    _drop(part, gone)
                part.rename(folder / f"{job['id']}.jsonl")
            job["status"] = "done"
        except Exception as exc:  # the job's state says why; the server goes on
            job["status"], job["error"] = "failed", str(exc)
        job["finished_at"] = time.time()
        if job["total"]:
            job["progress"] = min(1.0, job["users"] / job["total"])
        self._save(job)
        self._threads.pop(job["id"], None)

    def _progress(self, job: dict[str, Any]) -> Callable[[int], None]:
        """The digest's progress callback for `job` (users done, after each page)."""

        def done(count: int) -> None:
            job["users"] += count
            if job["total"]:
                job["progress"] = min(1.0, job["users"] / job["total"])
            self._save(job)

        return done

    def get(self, job_id: str) -> dict[str, Any]:
        """The job's state, or NotFound (`job_id`)."""
        return _public(self._read(job_id))

    def rows(self, job_id: str) -> Iterator[bytes]:
        """The finished job's rows file in chunks; Conflict while it runs or if it failed."""
        job = self._read(job_id)
        if job["status"] != "done":
            raise Conflict(f"the job is {job['status']}, not done", field="job_id")
        path = self._path / f"{job_id}.jsonl"
        fh = path.open("rb")

        def chunks() -> Iterator[bytes]:
            with fh:
                while chunk := fh.read(CHUNK):
                    yield chunk

        return chunks()

    def forget(self, user_id: str) -> int:
        """Delete the user's rows from every job file; returns the rows deleted."""
        folder = self._path
        if not folder.is_dir():
            return 0
        deleted = 0
        for path in sorted(folder.glob("*.jsonl*")):
            with self._lock:
                job_id = path.name.split(".")[0]
                if path.name.endswith(".part") and not path.exists():
                    path = path.with_name(f"{job_id}.jsonl")  # completed since the listing
                elif path.name.endswith(".part") and job_id in self._threads:
                    # Still being written here: dropped from it before it is complete.
                    self._forgotten.setdefault(job_id, set()).add(user_id)
                    continue
                deleted += _drop(path, {user_id})
        return deleted

    def _read(self, job_id: str) -> dict[str, Any]:
        if not isinstance(job_id, str) or not JOB_ID.match(job_id):
            raise NotFound("digest job", str(job_id), field="job_id")
        try:
            job: dict[str, Any] = json.loads((self._path / f"{job_id}.json").read_text())
        except FileNotFoundError:
            raise NotFound("digest job", job_id, field="job_id") from None
        if job["status"] == "running" and not self._alive(job):
            job["status"] = "interrupted"
        return job

    def _alive(self, job: dict[str, Any]) -> bool:
        if job["pid"] == os.getpid():
            return job["id"] in self._threads
        try:
            os.kill(job["pid"], 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        # The pid may be reused (a container restarted gives its processes the same pids).
        started, now = job.get("started"), _started(job["pid"])
        return started is None or now is None or started == now

    def _save(self, job: dict[str, Any]) -> None:
        with self._lock:
            path = self._path / f"{job['id']}.json"
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(job), encoding="utf-8")
            tmp.replace(path)


def _drop(path: Path, users: set[str]) -> int:
    """Rewrite a rows file without the rows of `users` (atomic); returns the rows dropped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except FileNotFoundError:  # renamed or removed meanwhile
        return 0
    marks = [json.dumps(u) for u in users]
    kept = [
        line
        for line in lines
        if not any(m in line for m in marks) or json.loads(line)["user_id"] not in users
    ]
    if len(kept) != len(lines):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(kept), encoding="utf-8")
        tmp.replace(path)
    return len(lines) - len(kept)


def _public(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if k not in ("pid", "started")}


def _started(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot, Linux), or None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # after the command's name: field 3 on
    return fields[19] if len(fields) > 19 else None
