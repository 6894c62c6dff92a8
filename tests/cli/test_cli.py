"""The CLI: every command, JSON output, and exit code 2 with one line for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from likewise.cli.main import main

ITEMS = [
    {"id": "a1", "title": "Rocket reaches the moon", "tags": ["space"], "category": "news"},
    {"id": "a2", "title": "Moon rocket delayed", "tags": ["space"], "category": "news"},
    {"id": "a3", "title": "Pasta with tomato", "tags": ["food"], "category": "recipes"},
]


def run(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--data", str(data), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ITEMS))
    return path


@pytest.fixture
def data(tmp_path: Path, catalog: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    data = tmp_path / "data"
    code, _, _ = run(capsys, data, "ingest", str(catalog), "--model", "hashing-64")
    assert code == 0
    return data


def test_ingest_reports_counts_as_json(
    tmp_path: Path, catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d"
    code, out, _ = run(capsys, data, "ingest", str(catalog), "--model", "hashing-64", "--json")
    assert code == 0
    assert json.loads(out) == {
        "new": 3,
        "changed": 0,
        "unchanged": 0,
        "deleted": 0,
        "embedded": 3,
        "skipped": 0,
    }
    code, out, _ = run(capsys, data, "ingest", str(catalog), "--json")
    assert json.loads(out)["unchanged"] == 3


def test_bad_lines_ingest_nothing_unless_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "ok", "title": "fine"}\n{"id": "x", "tags": "oops"}\n')
    data = tmp_path / "d"
    code, out, err = run(capsys, data, "ingest", str(path), "--model", "hashing-64")
    assert code == 2
    assert "line 2, field 'tags'" in err and "nothing was ingested" in err
    code, _, err = run(capsys, data, "ingest", str(path), "--model", "hashing-64", "--skip-invalid")
    assert code == 0 and "skipped:" in err and "line 2" in err
    code, out, _ = run(capsys, data, "stats", "--json")
    assert json.loads(out)["items"] == 1


def test_similar_search_show_delete(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, data, "similar", "a1", "--json", "-n", "1")
    assert code == 0
    (hit,) = json.loads(out)
    assert hit["id"] == "a2" and hit["title"] == "Moon rocket delayed"
    code, out, _ = run(capsys, data, "similar", "a1", "--where", '{"category": "recipes"}')
    assert code == 0 and "a3" in out and "a2" not in out
    code, out, _ = run(capsys, data, "search", "tomato pasta", "-n", "1")
    assert code == 0 and out.split()[1] == "a3"
    code, out, _ = run(capsys, data, "item", "show", "a3", "--json")
    assert json.loads(out)["category"] == "recipes"
    code, out, _ = run(capsys, data, "item", "delete", "a3", "zz")
    assert (code, out.strip()) == (0, "deleted: 1")
    code, out, _ = run(capsys, data, "search", "pasta", "--exclude", "a1")
    assert code == 0 and [line.split()[1] for line in out.splitlines()] == ["a2"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["similar", "zz"], "item 'zz' not found", id="missing-item"),
        pytest.param(
            ["similar", "a1", "--where", "{bad"], "'--where': not valid JSON", id="where-json"
        ),
        pytest.param(["similar", "a1", "--where", "[1]"], "must be a JSON object", id="where-type"),
        pytest.param(
            ["similar", "a1", "--where", '{"p": {"gt": "x"}}'], "where.p.gt", id="where-op"
        ),
        pytest.param(["similar", "a1", "-n", "0"], "field 'n'", id="n"),
        pytest.param(["ingest", "missing.jsonl"], "no such file", id="missing-file"),
        pytest.param(["reembed", "--model", "bert"], "unknown model 'bert'", id="model"),
    ],
)
def test_errors_are_one_line_and_exit_2(
    data: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _out, err = run(capsys, data, *args)
    assert code == 2
    assert message in err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_reembed_switches_model(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, data, "reembed", "--model", "hashing-16")
    assert code == 0 and "3 items with hashing-16" in out
    code, out, _ = run(capsys, data, "stats", "--json")
    assert json.loads(out)["model"] == "hashing-16"


def test_console_script_help_lists_every_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "likewise.cli.main", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for command in ("ingest", "similar", "search", "item", "stats", "reembed", "demo"):
        assert command in done.stdout
    usage = subprocess.run(
        [sys.executable, "-m", "likewise.cli.main", "similar"], capture_output=True, text=True
    )
    assert usage.returncode == 2 and "ID" in usage.stderr


@pytest.mark.slow
def test_demo_prints_related_titles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, tmp_path, "demo", "--limit", "300")
    assert code == 0
    assert "Related to Toy Story (1995):" in out
    assert out.count("\n  0.") >= 5
