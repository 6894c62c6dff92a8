"""Hostile input to the command line (a probe of the CLI and the settings): each is refused
with one line naming the option or setting, exit code 2, and changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.conftest import Run

DEEP = "[" * 5_000 + "]" * 5_000  # deeper than the JSON parser's stack
HUGE = '{"n": ' + "9" * 5_000 + "}"  # more digits than int() reads


def one_line(code: int, out: str, err: str) -> None:
    assert (code, out) == (2, ""), err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "named"),
    [
        pytest.param(["event", "u1", "a1", "view", "--context", DEEP], "--context", id="ctx-deep"),
        pytest.param(["event", "u1", "a1", "view", "--context", HUGE], "--context", id="ctx-huge"),
        pytest.param(["tenants", "create", "t1", "--settings", DEEP], "--settings", id="tenant"),
    ],
)
def test_hostile_json_in_an_option_is_named(
    data: Path, run: Run, args: list[str], named: str
) -> None:
    """They raised RecursionError or ValueError: a traceback, exit code 1."""
    code, out, err = run(data, *args)
    one_line(code, out, err)
    assert named in err
    code, out, _ = run(data, "stats", "--json")
    assert json.loads(out)["events"] == 0
    code, out, _ = run(data, "tenants", "list", "--json")
    assert json.loads(out) == {"tenants": []}
