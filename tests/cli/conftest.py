"""CLI fixtures: a small catalog ingested with the hashing embedder, and a runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from likewise.cli.main import main

ITEMS = [
    {"id": "a1", "title": "Rocket reaches the moon", "tags": ["space"], "category": "news"},
    {"id": "a2", "title": "Moon rocket delayed", "tags": ["space"], "category": "news"},
    {"id": "a3", "title": "Pasta with tomato", "tags": ["food"], "category": "recipes"},
]


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """`run(data, *args)`: the exit code, stdout and stderr of one `likewise` command."""

    def call(data: Path, *args: str) -> tuple[int, str, str]:
        code = main(["--data", str(data), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return call


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ITEMS))
    return path


@pytest.fixture
def data(tmp_path: Path, catalog: Path, run: Run) -> Path:
    data = tmp_path / "data"
    code, _, _ = run(data, "ingest", str(catalog), "--model", "hashing-64")
    assert code == 0
    return data
