"""/v1/digests through the real app on a real store: a job runs to completion and its rows
download as NDJSON, its lists count in the CTR report, bad input starts nothing, a job whose
process is gone reads interrupted, and a forget takes the user's rows out of the job files."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.service.conftest import READ, WRITE, auth

from likewise import Engine

W = auth(WRITE)


@pytest.fixture
def readers(engine: Engine) -> Engine:
    for user, items in {"u1": ["space1"], "u2": ["food1", "food2"], "u3": ["space2"]}.items():
        for item in items:
            engine.record(user, item, "like")
    return engine


def finished(client: TestClient, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60  # a bound on a hang, not a measure
    while True:
        job: dict[str, Any] = client.get(f"/v1/digests/{job_id}", headers=W).json()
        if job["status"] != "running" or time.monotonic() > deadline:
            return job
        time.sleep(0.02)


def rows(client: TestClient, job_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/digests/{job_id}/rows", headers=W)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def test_a_job_runs_and_its_rows_download(secured: TestClient, readers: Engine) -> None:
    started = secured.post("/v1/digests", json={"name": "weekly", "n": 2}, headers=W)
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["status"] == "running" and job["total"] == 3 and job["progress"] == 0.0
    done = finished(secured, job["id"])
    assert (done["status"], done["progress"], done["users"], done["lists"]) == ("done", 1.0, 3, 3)
    got = {r["user_id"]: r for r in rows(secured, job["id"])}
    assert sorted(got) == ["u1", "u2", "u3"]
    assert {i["id"] for i in got["u2"]["items"]} == {"space1", "space2"}  # seen ones left out
    assert got["u1"]["digest"] == "weekly"
    # A click on the newsletter's link counts for the digest.
    click = {"user_id": "u1", "item_id": got["u1"]["items"][0]["id"], "type": "click"}
    click["recommendation_id"] = got["u1"]["recommendation_id"]
    assert secured.post("/v1/events", json=click, headers=W).status_code == 200
    report = secured.get("/v1/reports/ctr", headers=auth(READ)).json()["rows"]
    (row,) = [r for r in report if r["group"] == "digest"]
    assert (row["impressions"], row["clicks"]) == (3, 1)
    # The next one, for a list of users, leaves out what the first sent: u2 has seen or
    # been sent all four items, so gets no list; a user with no events gets popular ones.
    body = {"name": "weekly", "n": 2, "users": ["u2", "nobody"]}
    second = finished(secured, secured.post("/v1/digests", json=body, headers=W).json()["id"])
    assert second["total"] == 2
    (again,) = rows(secured, second["id"])
    assert (again["user_id"], again["strategy"], second["lists"]) == ("nobody", "popular", 1)


def test_keys(secured: TestClient, readers: Engine) -> None:
    body = {"name": "weekly"}
    assert secured.post("/v1/digests", json=body).status_code == 401
    assert secured.post("/v1/digests", json=body, headers=auth(READ)).status_code == 403
    assert secured.get("/v1/digests/" + "0" * 32, headers=auth(READ)).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "weekly", "n": 0}, "n"),
        ({"name": "Weekly!"}, "name"),
        ({"name": "weekly", "where": {"published_at": {"gte": "soon"}}}, "where.published_at.gte"),
        ({"name": "weekly", "strategy": "best"}, "strategy"),
        ({"name": "weekly", "users": ["u1", ""]}, "users[1]"),  # as the engine names it
        ({"name": "weekly", "colour": "red"}, "colour"),
        ({"name": "weekly", "segment": "premium", "users": ["u1"]}, "segment"),
    ],
)
def test_bad_input_starts_nothing(
    secured: TestClient, readers: Engine, tmp_path: Path, body: dict[str, Any], field: str
) -> None:
    response = secured.post("/v1/digests", json=body, headers=W)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    folder = tmp_path / "data" / "digests"
    assert not folder.exists() or not list(folder.iterdir())
    assert secured.get("/v1/reports/ctr", headers=auth(READ)).json()["rows"] == []


def test_a_segment_there_is_none_of_is_a_404_naming_it(
    secured: TestClient, readers: Engine
) -> None:
    response = secured.post("/v1/digests", json={"name": "w", "segment": "gold"}, headers=W)
    assert response.status_code == 404 and response.json()["error"]["field"] == "segment"


def test_unknown_and_interrupted_jobs(secured: TestClient, readers: Engine, tmp_path: Path) -> None:
    for job_id in ("0" * 32, "..likewise.db", "nope"):
        response = secured.get(f"/v1/digests/{job_id}", headers=W)
        assert response.status_code == 404 and response.json()["error"]["field"] == "job_id"
    assert secured.get("/v1/digests/..%2F..%2Flikewise.db", headers=W).status_code == 404
    job = finished(secured, secured.post("/v1/digests", json={"name": "w"}, headers=W).json()["id"])
    # As a server that stopped mid-job leaves it: running, in a process that is gone.
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    state = tmp_path / "data" / "digests" / f"{job['id']}.json"
    saved = json.loads(state.read_text())
    state.write_text(json.dumps({**saved, "status": "running", "pid": int(gone.stdout)}))
    assert secured.get(f"/v1/digests/{job['id']}", headers=W).json()["status"] == "interrupted"
    response = secured.get(f"/v1/digests/{job['id']}/rows", headers=W)
    assert response.status_code == 409 and response.json()["error"]["field"] == "job_id"


def test_a_forget_takes_the_users_rows_out_of_the_job_files(
    secured: TestClient, readers: Engine, tmp_path: Path
) -> None:
    job = finished(secured, secured.post("/v1/digests", json={"name": "w"}, headers=W).json()["id"])
    assert "u2" in {r["user_id"] for r in rows(secured, job["id"])}
    assert secured.delete("/v1/users/u2", headers=W).status_code == 200
    assert {r["user_id"] for r in rows(secured, job["id"])} == {"u1", "u3"}
    for path in (tmp_path / "data" / "digests").iterdir():
        assert b'"u2"' not in path.read_bytes(), path.name
