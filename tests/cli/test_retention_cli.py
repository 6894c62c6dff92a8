"""`likewise report retention|engagement` over the hand-made log: tables, JSON, and bad
options refused in one line naming the option's field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.conftest import Run
from tests.tracking.retention_log import UNTIL, load, rates

from likewise import Engine


@pytest.fixture
def logged(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    engine = Engine.open(str(data), model="hashing-64")
    load(engine)
    engine.close()
    return data


def test_retention_and_engagement_reports(logged: Path, run: Run) -> None:
    code, out, _ = run(logged, "report", "retention", "--until", str(UNTIL), "--json")
    rows = json.loads(out)
    assert code == 0 and [r["users"] for r in rows] == [4, 1, 1, 1]
    assert rates(rows[0]) == {1: (4, 2, 0.5), 7: (4, 1, 0.25), 30: (4, 1, 0.25)}

    code, out, _ = run(logged, "report", "retention", "--by", "week", "--until", str(UNTIL))
    assert code == 0
    assert "| 2026-01-05 | 5 | 60.0% (3/5) | 20.0% (1/5) | 20.0% (1/5) |" in out.splitlines()
    assert "| 2026-02-09 | 2 | 100.0% (1/1) | - | - |" in out.splitlines()

    args = ["report", "engagement", "--until", str(UNTIL), "--days", "1,7"]
    code, out, _ = run(logged, *args)
    assert code == 0
    assert "| popular | 3 | 3 | 90 | 30.0 | 3 | 100.0% (3/3) | 50.0% (1/2) |" in out.splitlines()
    code, out, _ = run(logged, *args, "--group-by", "variant", "--json")
    assert code == 0 and [r["group"] for r in json.loads(out)] == ["exp:b"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        pytest.param(["retention", "--by", "month"], "by", id="by"),
        pytest.param(["retention", "--days", "1,0"], "days", id="days"),
        pytest.param(["engagement", "--since", "soon"], "since", id="since"),
        pytest.param(["engagement", "--group-by", "day"], "group_by", id="group-by"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    logged: Path, run: Run, args: list[str], field: str
) -> None:
    code, out, err = run(logged, "report", *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and field in err
