"""Hostile files through the CLI's loaders (issue 18): `likewise ingest` and `likewise events
import` run in process on generated JSONL and CSV files of items and of events.

The files hold what a file can: lone surrogates as JSON escapes (`\\ud800`) and, where no
escape exists (CSV), as bytes that are not UTF-8; NUL and control characters; 1 MB cells;
JSON nested 1,000 deep; 1e400, 10**400, a 5,000-digit integer, NaN and Infinity; wrong types;
byte order marks; ragged CSV rows; empty files; duplicate ids and columns. Each command runs
with and without `--skip-invalid` and `--json`.

Whatever the file, the command exits 0, or exits 2 having changed nothing in the store and
said why on stderr: one line naming the field for a file it cannot read at all, or one line
per bad record naming its line (and its field, unless the line has no fields to name: not
JSON, not an object, not UTF-8, ragged), then one line saying nothing was done. Never a
traceback. Derandomized and bounded, so CI runs the same cases every time.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests.hostile_files import (
    BROKEN,
    EVENT,
    EVENT_COLUMNS,
    ITEM,
    ITEM_COLUMNS,
    csv_file,
    record_lines,
)

from likewise import Engine
from likewise.cli.main import main

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
CATALOG = [
    {"id": "a1", "title": "Rocket reaches the moon", "category": "news"},
    {"id": "a2", "title": "Tomato soup", "tags": ["food"]},
    {"id": "a3", "title": "Moon landing, fifty years on"},
]
# Reasons a bad line may give without a field: the line has no fields to name.
FIELDLESS = (
    "not valid JSON",
    "an item must be an object",
    "an event must be an object",
    "is not UTF-8 text",
    "more cells than header columns",
    "fewer cells than header columns",
)


def snapshot(data: Path) -> dict[str, Any]:
    """What a refused file must leave as it was: every item's record, and the counts."""
    with Engine.open(str(data)) as engine:
        ids = engine.ids()
        records = {item.id: item.record_hash() for item in engine.get_many(ids)}
        stats = engine.stats()
    counts = {k: stats[k] for k in ("items", "events", "profiles")}
    return {"records": records, "counts": counts, "spaces": stats["spaces"]}


def run(*args: str) -> tuple[int, str, str]:
    """One `likewise` command in process. stdout is strict UTF-8 and stderr escapes what it
    cannot write, as a real terminal's are: a lone surrogate printed to stdout fails here."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(
        io.BytesIO(), encoding="utf-8", errors="backslashreplace", write_through=True
    )
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    texts = [s.buffer.getvalue().decode("utf-8") for s in (out, err)]  # type: ignore[attr-defined]
    return code, texts[0], texts[1]


@dataclass
class Case:
    """One generated file and the command that reads it."""

    data: Path
    path: Path
    content: bytes
    skip: bool
    as_json: bool


_LINE = re.compile(r"^line (\d+): (.*)$")
# A field is printed as Python's repr: in single quotes, or double when it holds one.
_FIELD = r"""(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
_TEXT = re.compile(rf"^error: (.+?): line (\d+)(?:, field ({_FIELD}))?: (.*)$")
_WHOLE = re.compile(rf"^error: (?:line \d+, )?field {_FIELD}: .+$")


def bad_lines(case: Case, err: str) -> list[tuple[int, str | None, str]]:
    """(line, field, reason) of each bad record a refusal lists, after checking the report's
    shape: one line per bad record, maybe a count of the rest, then what was not done."""
    lines = err.split("\n")[:-1]
    found: list[tuple[int, str | None, str]] = []
    if case.as_json:
        errors = [json.loads(line)["error"] for line in lines]
        *listed, last = errors
        assert last["field"] == "file" and last["message"].startswith("nothing was"), last
        for error in listed:
            assert error["code"] in ("invalid_input", "not_found"), error
            match = _LINE.match(error["message"])
            assert match, error
            found.append((int(match[1]), error["field"], match[2]))
        return found
    *listed, last = lines
    assert last.startswith("error: nothing was"), last
    if listed and listed[-1].startswith("error: ... and "):
        listed.pop()
    for line in listed:
        match = _TEXT.match(line)
        assert match and match[1] == str(case.path), line
        found.append((int(match[2]), match[3], match[4]))
    return found


def check(case: Case, code: int, out: str, err: str, before: dict[str, Any]) -> None:
    """The acceptance of one case (see the module's docstring)."""
    after = snapshot(case.data)
    total_lines = len(case.content.splitlines())
    assert code in (0, 2), (code, err)
    event(f"exit {code}")
    if code == 2:
        assert out == ""
        assert after == before, "a refused file changed the store"
        lines = err.split("\n")[:-1]
        if len(lines) == 1:  # the whole file: it could not be read at all
            event(f"refused: the whole {case.path.suffix} file")
            if case.as_json:
                error = json.loads(lines[0])["error"]
                assert error["field"] and error["message"], error
            else:
                assert _WHOLE.match(lines[0]), lines[0]
            return
        assert not case.skip, f"--skip-invalid, yet refused: {err}"
        named = bad_lines(case, err)
        assert named, err
        event(f"refused: bad lines of a {case.path.suffix} file named")
        for line, field, reason in named:
            assert 1 <= line <= max(total_lines, 1), (line, reason)
            assert field or reason.startswith(FIELDLESS), (line, reason)
        if len(named) < 20:
            _every_broken_line_named(case, {line for line, _, _ in named})
        return
    event(f"taken: a {case.path.suffix} file")
    # The report: JSON, or "new: 1  changed: 0  ..." with the same keys.
    result = json.loads(out) if case.as_json else dict(_count(kv) for kv in out.split("  "))
    skipped = [line for line in err.split("\n")[:-1] if line.startswith("skipped: ")]
    assert len(skipped) == len(err.split("\n")[:-1]), err  # nothing else on stderr
    if not case.skip:
        assert skipped == []
    if "new" in result:  # ingest: every skipped line is counted, every new item stored
        assert result["skipped"] == len(skipped)
        added = set(after["records"]) - set(before["records"])
        assert len(added) == result["new"]
    else:  # events import: skipped also counts events on unknown items (--unknown-items skip)
        assert after["counts"]["events"] - before["counts"]["events"] == result["accepted"]
        assert result["skipped"] >= len(skipped)
    if case.skip:
        prefix = f"skipped: {case.path}: line "
        _every_broken_line_named(
            case, {int(s.removeprefix(prefix).split(":")[0].split(",")[0]) for s in skipped}
        )


def _count(text: str) -> tuple[str, int]:
    key, _, value = text.strip().partition(": ")
    return key, int(value)


def _every_broken_line_named(case: Case, named: set[int]) -> None:
    if case.path.suffix != ".jsonl":
        return
    raw = case.content.removeprefix(b"\xef\xbb\xbf")
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if line.rstrip(b"\r") in BROKEN:
            assert number in named, (number, line, sorted(named))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("loaders") / "data"
    with Engine.open(str(data), model="hashing-64") as engine:
        engine.add_items(CATALOG)
        engine.record_many(
            {"user_id": "u1", "item_id": i["id"], "type": "click", "timestamp": k}
            for k, i in enumerate(CATALOG)
        )
    return data


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("files")


FLAGS = st.tuples(st.booleans(), st.booleans())


@FUZZ
@given(
    st.one_of(
        record_lines(ITEM).map(lambda b: ("jsonl", b)),
        csv_file(["id", "title"], ITEM_COLUMNS).map(lambda b: ("csv", b)),
    ),
    FLAGS,
)
def test_ingest_takes_a_file_or_names_what_is_wrong(
    store: Path, files: Path, file: tuple[str, bytes], flags: tuple[bool, bool]
) -> None:
    kind, content = file
    path = files / f"items.{kind}"
    path.write_bytes(content)
    skip, as_json = flags
    command = ["ingest", str(path)] + ["--skip-invalid"] * skip + ["--json"] * as_json
    case = Case(store, path, content, skip, as_json)
    before = snapshot(store)
    check(case, *run("--data", str(store), *command), before)


@FUZZ
@given(
    st.one_of(
        record_lines(EVENT).map(lambda b: ("jsonl", b)),
        csv_file(["user_id", "item_id", "type"], EVENT_COLUMNS).map(lambda b: ("csv", b)),
    ),
    FLAGS,
    st.sampled_from([[], ["--unknown-items", "skip"], ["--unknown-items", "create"]]),
)
def test_events_import_takes_a_file_or_names_what_is_wrong(
    store: Path,
    files: Path,
    file: tuple[str, bytes],
    flags: tuple[bool, bool],
    policy: list[str],
) -> None:
    kind, content = file
    path = files / f"events.{kind}"
    path.write_bytes(content)
    skip, as_json = flags
    command = ["events", "import", str(path), *policy]
    command += ["--skip-invalid"] * skip + ["--json"] * as_json
    case = Case(store, path, content, skip, as_json)
    before = snapshot(store)
    check(case, *run("--data", str(store), *command), before)


def test_a_refusal_with_json_is_json_on_every_line(store: Path, files: Path) -> None:
    """`--json` promises the error shape on stderr; a file's bad lines were printed as text."""
    path = files / "refused.jsonl"
    path.write_bytes(b'{"id": "r1", "title": "a\\u0000b"}\n{\n{"id": "r2", "title": "Moon"}\n')
    before = snapshot(store)
    code, out, err = run("--data", str(store), "ingest", str(path), "--json")
    assert (code, out) == (2, "") and snapshot(store) == before
    assert [json.loads(line)["error"] for line in err.splitlines()] == [
        {
            "code": "invalid_input",
            "message": "line 1: must not contain the NUL character (\\x00)",
            "field": "title",
        },
        {
            "code": "invalid_input",
            "message": "line 2: not valid JSON: Expecting property name enclosed in double quotes",
            "field": None,
        },
        {
            "code": "invalid_input",
            "message": "nothing was ingested: 2 bad lines "
            "(use --skip-invalid to ingest the valid records)",
            "field": "file",
        },
    ]
    code, out, err = run("--data", str(store), "ingest", str(path), "--json", "--skip-invalid")
    assert code == 0 and json.loads(out)["skipped"] == 2 and "r2" in snapshot(store)["records"]
