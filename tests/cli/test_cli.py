"""The CLI: every command, JSON output, and exit code 2 with one line for bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from likewise import Engine

Run = Callable[..., tuple[int, str, str]]  # the `run` fixture of conftest.py


def test_ingest_reports_counts_as_json(tmp_path: Path, catalog: Path, run: Run) -> None:
    data = tmp_path / "d"
    code, out, _ = run(data, "ingest", str(catalog), "--model", "hashing-64", "--json")
    assert code == 0
    assert json.loads(out) == {
        "new": 3,
        "changed": 0,
        "unchanged": 0,
        "deleted": 0,
        "embedded": 3,
        "skipped": 0,
        "skipped_lines": [],
    }
    code, out, _ = run(data, "ingest", str(catalog), "--json")
    assert json.loads(out)["unchanged"] == 3


def test_bad_lines_ingest_nothing_unless_skipped(tmp_path: Path, run: Run) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "ok", "title": "fine"}\n{"id": "x", "tags": "oops"}\n')
    data = tmp_path / "d"
    code, out, err = run(data, "ingest", str(path), "--model", "hashing-64")
    assert code == 2
    assert "line 2, field 'tags'" in err and "nothing was ingested" in err
    code, _, err = run(data, "ingest", str(path), "--model", "hashing-64", "--skip-invalid")
    assert code == 0 and "skipped:" in err and "line 2" in err
    code, out, _ = run(data, "stats", "--json")
    assert json.loads(out)["items"] == 1


def test_similar_search_show_delete(data: Path, run: Run) -> None:
    code, out, _ = run(data, "similar", "a1", "--json", "-n", "1")
    assert code == 0
    (hit,) = json.loads(out)["items"]  # the shape HTTP answers with
    assert set(hit) == {"id", "score"} and hit["id"] == "a2"
    code, out, _ = run(data, "similar", "a1", "-n", "1")
    assert code == 0 and out.split()[1:] == ["a2", "Moon", "rocket", "delayed"]
    code, out, err = run(data, "similar", "nope", "--json")
    assert code == 3 and out == ""  # not found
    assert json.loads(err) == {
        "error": {"code": "not_found", "message": "item 'nope' not found", "field": None}
    }
    code, out, _ = run(data, "similar", "a1", "--where", '{"category": "recipes"}')
    assert code == 0 and "a3" in out and "a2" not in out
    code, out, _ = run(data, "search", "tomato pasta", "-n", "1")
    assert code == 0 and out.split()[1] == "a3"
    code, out, _ = run(data, "item", "show", "a3", "--json")
    assert json.loads(out)["category"] == "recipes"
    code, out, _ = run(data, "item", "delete", "a3", "zz")
    assert (code, out.strip()) == (0, "deleted: 1")
    code, out, _ = run(data, "search", "pasta", "--exclude", "a1")
    assert code == 0 and [line.split()[1] for line in out.splitlines()] == ["a2"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
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
    data: Path, run: Run, args: list[str], message: str
) -> None:
    code, _out, err = run(data, *args)
    assert code == 2
    assert message in err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_a_missing_item_is_one_line_and_exit_3(data: Path, run: Run) -> None:
    code, _out, err = run(data, "similar", "zz")
    assert (code, err) == (3, "error: item 'zz' not found\n")


def test_reembed_switches_model(data: Path, run: Run) -> None:
    code, out, _ = run(data, "reembed", "--model", "hashing-16")
    assert code == 0 and "3 items with hashing-16" in out
    code, out, _ = run(data, "stats", "--json")
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
    assert usage.returncode == 2 and "required: id" in usage.stderr


@pytest.mark.slow
def test_demo_prints_related_titles(tmp_path: Path, run: Run) -> None:
    code, out, _ = run(tmp_path, "demo", "--users", "0", "--items", "300")
    assert code == 0
    assert "Related to Toy Story (1995) (content):" in out
    assert out.count("\n  0.") >= 5


@pytest.mark.slow
def test_the_demo_relates_toy_story_to_toy_story_2(tmp_path: Path, run: Run) -> None:
    code, out, _ = run(tmp_path, "demo")  # every title, 200 users' ratings, trained
    assert code == 0, out
    related = out.split("Related to Toy Story (1995) (content and behaviour):\n")[1]
    assert related.splitlines()[0].endswith("Toy Story 2 (1999)")


def test_a_reader_that_leaves_early_is_not_an_error(data: Path) -> None:
    command = [sys.executable, "-m", "likewise.cli.main", "--data", str(data)]
    with subprocess.Popen(  # stdout is closed before the command (a second later) writes
        [*command, "search", "moon rocket", "-n", "3", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait() == 0, err
    assert "Traceback" not in err


def test_every_command_has_working_help(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from likewise.cli.main import build_parser

    def commands(parser: argparse.ArgumentParser, path: list[str]) -> list[list[str]]:
        found = [path]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found += commands(sub, [*path, name])
        return found

    every = commands(build_parser(), [])
    assert ["experiment", "report"] in every and ["events", "list"] in every
    for path in every:
        with pytest.raises(SystemExit) as done:
            build_parser().parse_args([*path, "--help"])
        assert done.value.code == 0, path
    capsys.readouterr()


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 19: there was no `--version`."""
    from likewise import __version__
    from likewise.cli.main import main

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"likewise {__version__}\n"


@pytest.mark.parametrize(
    "command",
    [["stats"], ["similar", "a1"], ["search", "moon"], ["recommend", "u1"], ["item", "list"]],
)
def test_a_command_that_reads_never_creates_a_store(
    tmp_path: Path, run: Run, command: list[str]
) -> None:
    """Issue 19: a typo in --data left an empty store behind and said the item was missing."""
    typo = tmp_path / "nope"
    code, out, err = run(typo, *command)
    assert (code, out) == (2, "")
    assert err == (
        f"error: field 'data': no likewise store at {typo} (likewise.db not found): check "
        "--data or LIKEWISE_DATA, or make one with `likewise ingest`\n"
    )
    assert not typo.exists()


def test_a_list_from_the_shell_is_not_an_impression_unless_tracked(data: Path, run: Run) -> None:
    """Issue 19: `likewise recommend` from scripts was counted in the CTR and A/B reports."""
    assert run(data, "event", "u1", "a1", "like")[0] == 0
    assert run(data, "recommend", "u1")[0] == 0
    with Engine.open(str(data)) as engine:
        assert engine.ctr_report(group_by="strategy") == []
    assert run(data, "recommend", "u1", "--track")[0] == 0
    with Engine.open(str(data)) as engine:
        assert [row.impressions for row in engine.ctr_report(group_by="strategy")] == [1]


@pytest.mark.parametrize("action", ["show", "list", "delete"])
def test_item_actions_describe_themselves(action: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 19: `item show` and `item delete` had no description."""
    from likewise.cli.main import main

    with pytest.raises(SystemExit):
        main(["item", action, "--help"])
    usage, _, rest = capsys.readouterr().out.partition("\n\n")
    assert usage.startswith(f"usage: likewise item {action}")
    assert rest.split("\n\n")[0].strip().startswith(action.capitalize())


def test_the_package_says_it_is_typed() -> None:
    """Issue 19: no py.typed, so type checkers ignored likewise's annotations."""
    from importlib.resources import files

    assert files("likewise").joinpath("py.typed").is_file()


def test_ingest_and_import_read_jsonl_from_stdin(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19: `ingest` took no `-` (stdin)."""
    import io

    data = tmp_path / "data"
    items = [{"id": "a1", "title": "Rocket to the moon"}, {"id": "a2", "title": "Tomato soup"}]
    lines = "".join(json.dumps(r) + "\n" for r in items).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(lines)))
    code, out, err = run(data, "ingest", "-", "--model", "hashing-64", "--json")
    assert code == 0, err
    assert json.loads(out)["embedded"] == 2
    event = json.dumps({"user_id": "u1", "item_id": "a1", "type": "like"}).encode() + b"\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(event)))
    code, out, err = run(data, "events", "import", "-", "--json")
    assert code == 0, err
    assert json.loads(out)["accepted"] == 1


def test_positional_names_are_lower_case() -> None:
    """Issue 19: positional names mixed case (`ID`, `id`, `TEXT`, `file`, `SRC`, `COMMAND`)."""
    import argparse

    from likewise.cli.main import build_parser

    def walk(parser: argparse.ArgumentParser) -> Iterator[str]:
        for action in parser._actions:
            if not action.option_strings:  # a positional, or the subcommands
                yield str(action.metavar or action.dest)
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from walk(sub)

    names = set(walk(build_parser()))
    assert names and all(name == name.lower() for name in names), sorted(names)


def test_text_output_has_no_python_reprs(data: Path, run: Run) -> None:
    """Issue 19: text output printed `['space']`, `True`, `None`, `{'dim': ...}` and raw
    epoch floats."""
    assert run(data, "event", "u1", "a1", "like")[0] == 0
    assert run(data, "train")[0] == 0
    code, out, _ = run(data, "stats")
    assert code == 0
    for repr_ in ("{'", "['", "True", "None"):
        assert repr_ not in out, out
    assert re.search(r"trained_at=20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC", out), out
    code, out, _ = run(data, "item", "show", "a1")
    assert code == 0 and "tags: space\n" in out
