"""The service's logs (issue 19): one access line per request with its `X-Request-ID`, in JSON
or as a readable line; the request id on every response; an unhandled error logged once, with
its traceback and the request id."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.client.conftest import SRC, free_port

from likewise import Engine, Settings
from likewise.errors import ConfigError
from likewise.service import create_app
from likewise.service.logs import HumanFormatter, JsonFormatter

ITEMS = [
    {"id": "a1", "title": "Rocket reaches the moon", "tags": ["space"]},
    {"id": "a2", "title": "Pasta with tomato sauce", "tags": ["food"]},
    {"id": "a3", "title": "Moon rocket launch delayed", "tags": ["space"]},
]


def likewise(*args: str) -> list[str]:
    return [sys.executable, "-m", "likewise.cli.main", *args]


def child_env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, **extra}


def ingested(folder: Path) -> Path:
    """A small embedded store, made as a user makes one: `likewise ingest` of a file."""
    source = folder / "items.jsonl"
    source.write_text("".join(json.dumps(item) + "\n" for item in ITEMS))
    data = folder / "data"
    command = likewise("--data", str(data), "ingest", str(source), "--model", "hashing-64")
    subprocess.run(command, env=child_env(), check=True, capture_output=True)
    return data


@contextmanager
def serving(data: Path, *args: str, **env: str) -> Iterator[tuple[str, Path]]:
    """`likewise serve` on a free loopback port, once it answers; its stderr goes to the
    file given back with the URL. Stopped with SIGTERM, as a supervisor stops it."""
    port = free_port()
    log = data.parent / f"serve-{port}.log"
    command = likewise("--data", str(data), "serve", "--port", str(port), *args)
    with log.open("wb") as sink:  # the child keeps its own handle
        proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=sink, env=child_env(**env)
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the server did not start: {log.read_text()}")
            time.sleep(0.1)
        yield url, log
    finally:
        proc.terminate()
        proc.wait(timeout=30)


GENERATED = re.compile(r"[0-9a-f]{32}")


class Lines:
    """What the `likewise` loggers write while a test runs, formatted as a server formats it
    (a handler that formats as it is called, as `likewise serve`'s does)."""

    def __init__(self, formatter: logging.Formatter) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(formatter)

    def json(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line]

    def access(self) -> list[dict[str, Any]]:
        return [r for r in self.json() if r["logger"] == "likewise.access"]


@pytest.fixture
def lines() -> Iterator[Lines]:
    logger = logging.getLogger("likewise")
    captured, level = Lines(JsonFormatter()), logger.level
    logger.addHandler(captured.handler)
    logger.setLevel(logging.INFO)
    yield captured
    logger.removeHandler(captured.handler)
    logger.setLevel(level)


def test_one_json_access_line_per_request(client: TestClient, lines: Lines) -> None:
    batch = [{"user_id": user, "item_id": "food1", "type": "like"} for user in ("u1", "u2", "u1")]
    assert client.post("/v1/events", json=batch).status_code == 200
    listed = client.get("/v1/users/u1/recommendations", params={"strategy": "ema"})
    missing = client.get("/v1/items/nope")
    assert client.get("/nowhere").status_code == 404
    events, first, item, nowhere = lines.access()
    assert first["request_id"] == listed.headers["x-request-id"]
    assert GENERATED.fullmatch(first["request_id"])
    assert {k: first[k] for k in ("level", "method", "route", "status", "strategy", "users")} == {
        "level": "info",
        "method": "GET",
        "route": "/v1/users/{user_id}/recommendations",  # the template, never the raw path
        "status": 200,
        "strategy": "ema",
        "users": 1,
    }
    assert isinstance(first["ms"], float) and first["ms"] >= 0
    assert first["client"] == "testclient"
    assert first["ts"].endswith("Z")
    assert (events["route"], events["users"], "strategy" in events) == ("/v1/events", 2, False)
    assert (item["route"], item["status"], "users" in item) == ("/v1/items/{item_id}", 404, False)
    assert item["request_id"] == missing.headers["x-request-id"]
    assert (nowhere["route"], nowhere["status"]) == ("unmatched", 404)
    assert len({line["request_id"] for line in lines.access()}) == 4


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        pytest.param("req-42.a_b:c/d", True, id="sane"),
        pytest.param("x" * 128, True, id="128-chars"),
        pytest.param("x" * 129, False, id="too-long"),
        pytest.param("two words", False, id="space"),
        pytest.param("line\tbreak", False, id="control"),
        pytest.param("", False, id="empty"),
    ],
)
def test_request_id_is_taken_when_sane_else_made(
    client: TestClient, lines: Lines, given: str, kept: bool
) -> None:
    for response in (
        client.get("/healthz", headers={"X-Request-ID": given}),
        client.get("/nowhere", headers={"X-Request-ID": given}),  # 404
        client.delete("/v1/stats", headers={"X-Request-ID": given}),  # 405
        client.get("/v1/items/a/similar?n=many", headers={"X-Request-ID": given}),  # 422
    ):
        echoed = response.headers["x-request-id"]
        assert echoed == given if kept else GENERATED.fullmatch(echoed), response.status_code
    assert [line["request_id"] for line in lines.access()] == [
        given if kept else line["request_id"] for line in lines.access()
    ]
    assert len({line["request_id"] for line in lines.access()}) == (1 if kept else 4)


def test_a_made_request_id_reads_no_os_randomness(
    client: TestClient, lines: Lines, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`uuid4` reads os.urandom, which releases the GIL: while the impression writer thread
    runs, every request then waited to get it back."""

    def refused(size: int) -> bytes:
        raise AssertionError("a request id read os.urandom")

    with monkeypatch.context() as patched:
        patched.setattr(os, "urandom", refused)
        ids = [client.get("/healthz").headers["x-request-id"] for _ in range(2)]
    assert all(GENERATED.fullmatch(i) for i in ids) and ids[0] != ids[1]
    assert [line["request_id"] for line in lines.access()] == ids


def test_request_id_on_a_refused_body(engine: Engine, lines: Lines) -> None:
    with TestClient(create_app(Settings(max_body_bytes=100), engine=engine)) as client:
        response = client.post("/v1/events", content=b"x" * 200, headers={"X-Request-ID": "big"})
    assert (response.status_code, response.headers["x-request-id"]) == (413, "big")
    assert [(a["request_id"], a["status"]) for a in lines.access()] == [("big", 413)]


def test_an_unhandled_error_is_logged_once_with_its_request_id(
    engine: Engine, caplog: pytest.LogCaptureFixture, lines: Lines
) -> None:
    app = create_app(Settings(), engine=engine)

    def boom() -> None:
        logging.getLogger("likewise.test").warning("about to fail")
        raise RuntimeError("kaboom")

    app.add_api_route("/boom", boom)
    # The client raises an exception that reaches the server: it must not, or the server
    # (uvicorn) would log it a second time.
    with TestClient(app, raise_server_exceptions=True) as client:
        response = client.get("/boom", headers={"X-Request-ID": "r-1"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "r-1"
    assert response.json() == {
        "error": {
            "code": "internal",
            "message": "internal error",
            "field": None,
            "request_id": "r-1",
        }
    }
    assert [r.getMessage() for r in caplog.records if r.exc_info] == [
        "unhandled error in GET /boom"
    ]
    warning, error, line = lines.json()
    assert (warning["message"], warning["request_id"]) == ("about to fail", "r-1")
    assert (error["level"], error["request_id"]) == ("error", "r-1")
    assert "RuntimeError: kaboom" in error["traceback"]
    assert (line["route"], line["status"], line["request_id"]) == ("/boom", 500, "r-1")


def test_human_format_is_one_readable_line() -> None:
    record = logging.LogRecord(
        "likewise.access",
        logging.INFO,
        __file__,
        1,
        "%s %s %s %s ms",
        ("GET", "/v1/users/{user_id}/recommendations", 200, 1.25),
        None,
    )
    fields = {
        "request_id": "r-9",
        "method": "GET",
        "route": "/v1/users/{user_id}/recommendations",
        "status": 200,
        "ms": 1.25,
        "strategy": "ema",
        "users": 1,
        "client": "10.0.0.1",
    }
    record.access = fields
    line = HumanFormatter().format(record)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO likewise\.access GET "
        r"/v1/users/\{user_id\}/recommendations 200 1\.25 ms request_id=r-9 strategy=ema "
        r"users=1 client=10\.0\.0\.1",
        line,
    ), line


def test_log_format_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().service.log_format == "human"
    monkeypatch.setenv("LIKEWISE_LOG_FORMAT", "json")
    assert Settings().service.log_format == "json"
    monkeypatch.setenv("LIKEWISE_LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="log_format"):
        Settings()


@pytest.mark.slow
def test_serve_logs_each_request_by_default(tmp_path: Path) -> None:
    """`likewise serve` with no flag: a readable access line at info (uvicorn's own access
    log stays off); `--log-format json`: one JSON object a line."""
    data = ingested(tmp_path)
    with serving(data) as (url, log):
        rid = httpx.get(f"{url}/v1/users/u1/recommendations").headers["x-request-id"]
    route = r"/v1/users/\{user_id\}/recommendations"
    access = rf" INFO likewise\.access GET {route} 200 [0-9.]+ ms request_id={rid} "
    text = log.read_text()
    assert re.search(access + r"strategy=popular users=1 client=127\.0\.0\.1\n", text), text
    assert "HTTP/1.1" not in text  # uvicorn's access line: not a second line per request
    with serving(data, "--log-format", "json") as (url, log):
        rid = httpx.get(f"{url}/healthz").headers["x-request-id"]
    [serving_line, *rest] = log.read_text().splitlines()
    assert serving_line.startswith("likewise: serving")
    records = [json.loads(line) for line in rest]  # every line logged is one JSON object
    [line] = [r for r in records if r["logger"] == "likewise.access" and r["route"] != "/readyz"]
    assert (line["route"], line["request_id"], line["status"]) == ("/healthz", rid, 200)
