"""`likewise users load|properties` and `likewise segments ...`: a file loaded whole or not at
all with its bad lines named, a progress count, segments made, listed, used and deleted."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

Run = Callable[..., tuple[int, str, str]]  # the `run` fixture of conftest.py

GOOD = [
    {"id": "u1", "properties": {"plan": "premium", "country": "DE"}},
    {"id": "u2", "properties": {"plan": "free", "country": "AT"}},
]


def _jsonl(path: Path, lines: list[str]) -> str:
    path.write_text("".join(line + "\n" for line in lines))
    return str(path)


def test_users_load_is_all_or_nothing(tmp_path: Path, data: Path, run: Run) -> None:
    bad = _jsonl(
        tmp_path / "users.jsonl",
        [*map(json.dumps, GOOD), '{"id": "u3", "properties": {"plan": ["x"]}}', "not json"],
    )
    code, out, err = run(data, "users", "load", bad)
    assert code == 2 and out == ""
    assert "line 3, field 'properties.plan'" in err and "line 4" in err
    assert err.strip().splitlines()[-1] == "error: no properties were set (use --skip-invalid)"
    code, out, _ = run(data, "users", "properties", "u1", "--json")
    assert (code, json.loads(out)) == (0, {})
    code, out, err = run(data, "users", "load", bad, "--skip-invalid", "--json")
    report = json.loads(out)
    assert code == 0 and (report["loaded"], report["skipped"]) == (2, 2)
    assert [s["line"] for s in report["skipped_lines"]] == [3, 4]
    code, out, _ = run(data, "users", "properties", "u1", "--json")
    assert json.loads(out) == {"country": "DE", "plan": "premium"}
    csv = tmp_path / "users.csv"
    csv.write_text("id,plan,age\nu1,gold,31\nu4,free,\n")
    code, out, _ = run(data, "users", "load", str(csv), "--replace", "--json")
    assert code == 0 and json.loads(out)["loaded"] == 2
    code, out, _ = run(data, "users", "properties", "u1", "--json")
    assert json.loads(out) == {"age": 31, "plan": "gold"}  # replaced: no country left


def test_users_properties_sets_and_refuses(data: Path, run: Run) -> None:
    code, out, _ = run(data, "users", "properties", "u1", "--set", '{"plan": "free", "n": 2}')
    assert code == 0 and "plan: free" in out and "n: 2" in out
    code, out, err = run(data, "users", "properties", "u1", "--set", '{"plan": {"a": 1}}')
    assert code == 2 and len(err.strip().splitlines()) == 1 and "properties.plan" in err
    code, _, err = run(data, "users", "properties", "u1", "--replace")
    assert code == 2 and "--replace" in err


def test_segments_commands(tmp_path: Path, data: Path, run: Run) -> None:
    run(data, "users", "load", _jsonl(tmp_path / "u.jsonl", [*map(json.dumps, GOOD)]))
    where = '{"country": {"in": ["DE", "AT"]}}'
    code, out, _ = run(data, "segments", "create", "dach", "--where", where)
    assert (code, out.strip()) == (0, "created segment dach: country=(in=DE, AT)")
    code, out, _ = run(data, "segments", "users", "dach")
    assert out.split() == ["u1", "u2"]
    run(data, "segments", "create", "premium", "--where", '{"plan": "premium"}')
    code, out, _ = run(data, "segments", "users", "premium", "--json")
    assert json.loads(out) == ["u1"]
    code, out, _ = run(data, "segments", "list", "--json")
    assert [s["name"] for s in json.loads(out)] == ["dach", "premium"]
    code, _, err = run(data, "segments", "create", "dach", "--where", '{"plan": {"gt": "x"}}')
    assert code == 2 and "where.plan.gt" in err and len(err.strip().splitlines()) == 1
    code, out, err = run(
        data, "experiment", "create", "x", "--variant", "a:strategy=ema",
        "--variant", "b:strategy=mean", "--segment", "premium", "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["segment"] == "premium"
    code, out, _ = run(data, "experiment", "list")
    assert code == 0 and "x  running, segment premium  a (50%" in out
    code, out, _ = run(data, "segments", "delete", "dach")
    assert (code, out.strip()) == (0, "deleted segment dach")
    for args in (("segments", "users", "dach"), ("segments", "delete", "dach")):
        code, out, err = run(data, *args)
        assert code == 3 and out == "" and "segment 'dach' not found" in err
