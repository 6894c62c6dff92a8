"""`likewise events import` with the import settings, and the line and field of every error."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., tuple[int, str, str]]  # the `run` fixture of conftest.py

LINES = [
    {"user_id": "u1", "item_id": "a1", "type": "rating", "value": 4.5, "event_id": "e1"},
    {"user_id": "u1", "item_id": "sku-9", "type": "purchase", "event_id": "e2"},
    {"user_id": "u2", "item_id": "a2", "type": "rating", "value": 0.5, "event_id": "e3"},
]


@pytest.fixture
def jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in LINES))
    return path


def test_every_error_names_the_line_and_field(data: Path, run: Run, jsonl: Path) -> None:
    code, out, err = run(data, "events", "import", str(jsonl))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"error: {jsonl}: line 2, field 'item_id': unknown item 'sku-9'",
        f"error: {jsonl}: line 3, field 'value': a rating value must be from 1 to 5",
        "error: nothing was recorded (use --skip-invalid)",
    ]
    code, out, err = run(data, "events", "import", str(jsonl), "--skip-invalid", "--json")
    assert code == 0 and json.loads(out)["accepted"] == 1
    assert f"skipped: {jsonl}: line 3, field 'value': a rating value must be from 1" in err


def test_the_scale_and_the_policy_from_the_environment(
    data: Path, run: Run, jsonl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIKEWISE_RATING_MIN", "0.5")
    code, _, err = run(data, "events", "import", str(jsonl))
    assert code == 2 and err.count("\n") == 2 and "unknown item 'sku-9'" in err
    monkeypatch.setenv("LIKEWISE_UNKNOWN_ITEMS", "skip")
    code, out, _ = run(data, "events", "import", str(jsonl), "--json")
    assert json.loads(out) == {
        "accepted": 2,
        "duplicates": 0,
        "skipped": 1,
        "created": 0,
        "skipped_lines": [],
    }
    code, out, _ = run(data, "events", "import", str(jsonl), "--unknown-items", "create")
    assert (code, out.strip()) == (0, "accepted: 1  duplicates: 2  skipped: 0  created: 1")
    code, out, _ = run(data, "stats", "--json")
    assert json.loads(out)["items"] == 4 and json.loads(out)["events"] == 3
    monkeypatch.setenv("LIKEWISE_RATING_MAX", "0.5")
    code, _, err = run(data, "events", "import", str(jsonl))
    assert code == 2 and err == "error: setting rating_min: must be below rating_max (0.5)\n"


def test_skip_counts_with_the_invalid_lines(data: Path, run: Run, jsonl: Path) -> None:
    args = ("events", "import", str(jsonl), "--unknown-items", "skip", "--skip-invalid")
    code, out, err = run(data, *args, "--json")
    assert code == 0 and err.count("skipped:") == 1  # the bad rating, with its reason
    report = json.loads(out)
    assert report.pop("skipped_lines") == [
        {
            "line": 3,
            "field": "value",
            "message": "a rating value must be from 1 to 5",
            "code": "invalid_input",
        }
    ]
    assert report == {"accepted": 1, "duplicates": 0, "skipped": 2, "created": 0}


def test_a_csv_line_is_named(tmp_path: Path, data: Path, run: Run) -> None:
    path = tmp_path / "events.csv"
    path.write_text("user_id,item_id,type,value\nu1,a1,like,\nu1,a2,rating,0.5\nu1,a3\n")
    code, _, err = run(data, "events", "import", str(path))
    assert code == 2 and err.splitlines()[:2] == [
        f"error: {path}: line 3, field 'value': a rating value must be from 1 to 5",
        f"error: {path}: line 4: fewer cells than header columns",
    ]


def test_ingest_names_the_line_and_field(tmp_path: Path, data: Path, run: Run) -> None:
    rows = tmp_path / "items.csv"
    rows.write_text("id,title,extra\nb1,One\nb2,Two,x,y\n")
    code, _, err = run(data, "ingest", str(rows))
    assert code == 2 and err.splitlines()[:2] == [
        f"error: {rows}: line 2: fewer cells than header columns",
        f"error: {rows}: line 3: more cells than header columns",
    ]
    bad = tmp_path / "items.jsonl"
    bad.write_text('{"id": "b1"}\n{"id": "b2", "tags": 3}\n')
    code, _, err = run(data, "ingest", str(bad))
    assert code == 2 and f"error: {bad}: line 2, field 'tags':" in err
