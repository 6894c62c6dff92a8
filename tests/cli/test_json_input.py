"""`ingest` and `events import` read a `.json` array of records, from a file or stdin, and
`--skip-invalid --json` keeps the reason of every line it left out (issue 19)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from tests.cli.conftest import Run

ITEMS = [
    {"id": "j1", "title": "Rocket reaches the moon", "tags": ["space"]},
    {"id": "j2", "title": "Tomato soup"},
]


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))


def test_ingest_and_import_read_a_json_array(tmp_path: Path, run: Run) -> None:
    items = tmp_path / "items.json"
    items.write_text(json.dumps(ITEMS, indent=2))  # over many lines, as exports write it
    data = tmp_path / "data"
    code, out, err = run(data, "ingest", str(items), "--model", "hashing-64", "--json")
    assert code == 0, err
    assert json.loads(out)["new"] == 2
    events = tmp_path / "events.json"
    rows = [{"user_id": "u1", "item_id": i["id"], "type": "like"} for i in ITEMS]
    events.write_text(json.dumps(rows))
    code, out, err = run(data, "events", "import", str(events), "--json")
    assert code == 0, err
    assert json.loads(out)["accepted"] == 2
    code, out, _ = run(data, "item", "show", "j1", "--json")
    assert json.loads(out)["tags"] == ["space"]


def test_a_json_array_from_stdin(tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    _stdin(monkeypatch, "\n  " + json.dumps(ITEMS))  # spaces before the "[" are allowed
    code, out, err = run(data, "ingest", "-", "--model", "hashing-64", "--json")
    assert code == 0, err
    assert json.loads(out)["new"] == 2
    _stdin(monkeypatch, json.dumps([{"user_id": "u1", "item_id": "j2", "type": "click"}]))
    code, out, err = run(data, "events", "import", "-", "--json")
    assert code == 0 and json.loads(out)["accepted"] == 1, err
    # JSONL on stdin still streams as before, blank first lines and CRLF included
    _stdin(monkeypatch, '\r\n{"id": "j3", "title": "Moon"}\r\n{"id": "j4", "title": "Sun"}\r\n')
    code, out, err = run(data, "ingest", "-", "--json")
    assert code == 0 and json.loads(out)["new"] == 2, err


def test_a_bad_element_is_named_by_its_place(tmp_path: Path, data: Path, run: Run) -> None:
    """The "line" of a record in an array is its place, counting from 1 as lines do."""
    path = tmp_path / "items.json"
    records = [{"id": "k1", "title": "fine"}, "text", {"id": "k3", "tags": 3}, {"id": "k1"}]
    path.write_text(json.dumps(records, indent=2))
    code, out, err = run(data, "ingest", str(path))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"error: {path}: line 2: an item must be an object, not str",
        f"error: {path}: line 3, field 'tags': Input should be a valid tuple",
        f"error: {path}: line 4, field 'id': duplicate id 'k1' (first on line 1)",
        "error: nothing was ingested (use --skip-invalid to ingest the valid records)",
    ]
    code, out, _ = run(data, "item", "show", "k1")
    assert code == 3  # nothing was ingested


def test_a_file_that_is_not_one_json_array_is_refused_whole(
    tmp_path: Path, data: Path, run: Run
) -> None:
    path = tmp_path / "items.json"
    path.write_text('[{"id": "k1"},\n {"id": "k2"}\n')  # the closing bracket is missing
    code, out, err = run(data, "ingest", str(path), "--json")
    assert (code, out) == (2, "")
    assert json.loads(err) == {
        "error": {
            "code": "invalid_input",
            "message": "not a valid JSON array: Expecting ',' delimiter (line 3, column 1)",
            "field": "file",
        }
    }


def test_skip_invalid_with_json_lists_every_reason(tmp_path: Path, data: Path, run: Run) -> None:
    """`--skip-invalid --json` dropped the reasons and kept only a count."""
    path = tmp_path / "items.jsonl"
    path.write_text(
        '{"id": "s1", "title": "ok"}\n{\n{"id": "s3", "tags": 3}\n{"id": "s4", "title": "Moon"}\n'
    )
    code, out, err = run(data, "ingest", str(path), "--skip-invalid", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["new"], report["skipped"]) == (2, 2)
    assert report["skipped_lines"] == [
        {
            "line": 2,
            "field": None,
            "message": "not valid JSON: Expecting property name enclosed in double quotes",
            "code": "invalid_input",
        },
        {
            "line": 3,
            "field": "tags",
            "message": "Input should be a valid tuple",
            "code": "invalid_input",
        },
    ]
    events = tmp_path / "events.json"
    rows = [
        {"user_id": "u1", "item_id": "s1", "type": "like"},
        {"user_id": "u1", "item_id": "nope", "type": "like"},
        {"user_id": "u1", "item_id": "s4", "type": "rating", "value": 9},
    ]
    events.write_text(json.dumps(rows))
    code, out, err = run(data, "events", "import", str(events), "--skip-invalid", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["accepted"] == 1 and report["skipped"] == 2
    assert [(s["line"], s["field"], s["code"]) for s in report["skipped_lines"]] == [
        (2, "item_id", "invalid_input"),  # a line of the file: the file is the input
        (3, "value", "invalid_input"),
    ]
    assert report["skipped_lines"][0]["message"] == "unknown item 'nope'"
