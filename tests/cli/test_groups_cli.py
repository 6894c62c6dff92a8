"""`likewise recommend-group` on both backends, over the hand-built store of
tests/test_groups.py: the list as JSON and as a table naming who each item is for, and
errors as one line with the exit code of their class."""

from __future__ import annotations

import json

import pytest
from tests.test_groups import build

from likewise import Engine
from likewise.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_recommend_group_on_the_command_line(
    location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    build(Engine.open(location, model="hashing-64")).close()
    base = ["--data", location, "recommend-group", "u1", "u2", "--space", "taste"]
    code, out, _ = run(capsys, *base, "--strategy", "fair", "-n", "2", "--json")
    assert code == 0
    body = json.loads(out)
    assert [i["id"] for i in body["items"]] == ["loved", "theirs"]
    assert [i["for"] for i in body["items"]] == [["u1"], ["u2"]]
    code, out, _ = run(capsys, *base, "--strategy", "least_misery", "-n", "1")
    assert code == 0
    assert out.splitlines()[0] == "strategy: group:least_misery"
    assert "compromise  compromise title  (for u1, u2)" in out
    # Errors: one line each, exit 2 for bad input, 3 for an unknown user.
    code, out, err = run(capsys, "--data", location, "recommend-group", "u1")
    assert (code, out) == (2, "") and err.count("\n") == 1 and "'users'" in err
    code, _, err = run(capsys, "--data", location, "recommend-group", "u1", "ghost")
    assert code == 3 and err == "error: field 'users[1]': user 'ghost' not found\n"
    code, _, err = run(capsys, *base, "--where", "[1]")
    assert code == 2 and "--where" in err and err.count("\n") == 1
    # The command logs nothing unless --track.
    with Engine.open(location) as engine:
        assert engine.ctr_report() == []
    assert run(capsys, *base, "--track")[0] == 0
    with Engine.open(location) as engine:
        assert [r.group for r in engine.ctr_report()] == ["group:average"]
