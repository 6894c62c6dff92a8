"""The command line's one convention (issue 19): exit codes by the error's class, `--json`
errors (usage errors included), the shared options only where they mean something, a long form
for every option, and old spellings kept as hidden aliases."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.conftest import Run

from likewise import errors
from likewise.cli.main import build_parser, exit_code, main


def test_every_error_class_has_its_exit_code() -> None:
    """Exit code 2 meant both "usage error" and "runtime error"."""
    expected = {
        errors.NotFound: 3,
        errors.InvalidInput: 2,
        errors.Conflict: 2,
        errors.ConfigError: 2,
        errors.StoreError: 1,
        errors.StoreUnavailable: 1,
        errors.StoreFull: 1,
        errors.EmbedderError: 1,
        errors.IngestStopped: 1,  # the embedding server failed: a runtime fault
        errors.Unauthorized: 1,
        errors.LikewiseError: 1,
    }

    def tree(cls: type[errors.LikewiseError]) -> Iterator[type[errors.LikewiseError]]:
        yield cls
        for sub in cls.__subclasses__():
            yield from tree(sub)

    every = {c for c in tree(errors.LikewiseError) if c.__module__ == "likewise.errors"}
    assert every == set(expected)  # a new class is given its code here
    for cls, code in expected.items():
        exc = cls.__new__(cls)  # the class decides, not the arguments
        assert exit_code(exc) == code, cls


@pytest.mark.parametrize(
    ("args", "code"),
    [
        pytest.param(["similar", "a1"], 0, id="ok"),
        pytest.param(["similar"], 2, id="usage-missing-positional"),
        pytest.param(["similar", "a1", "--n", "x"], 2, id="usage-bad-int"),
        pytest.param(["similar", "a1", "--frobnicate"], 2, id="usage-unknown-option"),
        pytest.param(["similar", "a1", "--where", "{bad"], 2, id="invalid-input"),
        pytest.param(["reembed", "--model", "bert"], 2, id="config-error"),
        pytest.param(["similar", "zz"], 3, id="not-found-item"),
        pytest.param(["item", "show", "zz"], 3, id="not-found-item-show"),
        pytest.param(["experiment", "report", "nope"], 3, id="not-found-experiment"),
    ],
)
def test_exit_codes(data: Path, run: Run, args: list[str], code: int) -> None:
    got, out, err = run(data, *args)
    assert got == code, err
    assert (out == "") == (code != 0)


def test_a_store_that_cannot_be_opened_is_exit_1(tmp_path: Path, run: Run) -> None:
    """A fault that is not the caller's input: a damaged file, a database that is down."""
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "likewise.db").write_bytes(b"not a database" * 400)
    code, out, err = run(damaged, "stats")
    assert (code, out) == (1, "") and err.startswith("error: cannot open the store")
    code, out, err = run("postgresql://127.0.0.1:1/none", "stats", "--json")  # nothing listens
    assert (code, out) == (1, "")
    assert json.loads(err)["error"]["code"] == "store_unavailable"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        pytest.param(
            ["similar", "zz"],
            {"code": "not_found", "message": "item 'zz' not found", "field": None},
            id="not-found",
        ),
        pytest.param(
            ["similar", "a1", "--where", "[1]"],
            {"code": "invalid_input", "message": "must be a JSON object", "field": "--where"},
            id="invalid-input",
        ),
        pytest.param(
            ["similar", "a1", "--n", "x"],
            {"code": "usage", "message": "invalid int value: 'x'", "field": "--n"},
            id="usage-bad-value",
        ),
        pytest.param(
            ["similar"],
            {
                "code": "usage",
                "message": "the following arguments are required: id",
                "field": "id",
            },
            id="usage-missing",
        ),
        pytest.param(
            ["similar", "a1", "--strategy", "x"],
            {
                "code": "usage",
                "message": "unrecognized arguments: --strategy x",
                "field": "--strategy",
            },
            id="usage-unknown",
        ),
    ],
)
def test_json_errors_are_one_json_object(
    data: Path, run: Run, args: list[str], error: dict[str, str | None]
) -> None:
    """With `--json`, errors were plain text, and argparse's always were."""
    for where in ("after", "before"):  # `likewise cmd ... --json` and `likewise --json cmd`
        argv = [*args, "--json"] if where == "after" else ["--json", *args]
        code, out, err = run(data, *argv)
        assert code in (2, 3) and out == ""
        assert err.count("\n") == 1, err
        assert json.loads(err) == {"error": error}, where


def test_usage_errors_without_json_are_argparse_text(data: Path, run: Run) -> None:
    code, out, err = run(data, "similar", "a1", "--n", "x")
    assert (code, out) == (2, "")
    assert err.startswith("usage: likewise similar ")
    assert err.endswith("likewise similar: error: argument -n/--n: invalid int value: 'x'\n")


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """(words, parser) of every command that runs something (not the groups of actions)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for action in subs:
        for name, sub in action.choices.items():
            yield from _commands(sub, (*path, name))


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}


def test_the_shared_options_only_where_they_mean_something() -> None:
    """`--json`, `--data` appeared on commands where they meant nothing."""
    commands = dict(_commands(build_parser()))
    assert len(commands) > 30
    without_data = {("eval",), ("copy",)}  # eval builds its own stores; copy names both
    without_json = {("serve",), ("demo",)}  # they print no data
    for words, parser in commands.items():
        options = _options(parser)
        assert ("--data" in options) == (words not in without_data), words
        assert ("--json" in options) == (words not in without_json), words
        assert {"-v", "--verbose"} <= options, words  # every command runs code that logs


@pytest.mark.parametrize(
    ("argv", "option", "command"),
    [
        # with arguments that stop either at once if the option is let through
        pytest.param(["--json", "demo", "--items", "0"], "--json", "demo", id="json-demo"),
        pytest.param(["--json", "serve", "--workers", "0"], "--json", "serve", id="json-serve"),
        pytest.param(["--data", "x", "eval", "--users", "0"], "--data", "eval", id="data-eval"),
        pytest.param(["--data", "x", "copy", "a", "b"], "--data", "copy", id="data-copy"),
        pytest.param(["demo", "--items", "0", "--json"], "--json", None, id="after-demo"),
    ],
)
def test_a_shared_option_a_command_does_not_take_is_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    option: str,
    command: str | None,
) -> None:
    """Given before the command it was accepted and ignored (`likewise --json serve` served)."""
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    if "--json" in argv:
        error = json.loads(err)["error"]  # one JSON object, the only line
        assert error["code"] == "usage" and error["field"] == option
        if command is not None:
            assert error["message"] == f"`likewise {command}` does not take it"
    else:
        last = err.splitlines()[-1]
        assert last == f"likewise: error: argument {option}: `likewise {command}` does not take it"
    assert list(tmp_path.iterdir()) == []  # nothing served, no store made


def test_data_before_or_after_the_command(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["--data", str(data), "stats", "--json"],
        ["stats", "--data", str(data), "--json"],
    ):
        assert main(argv) == 0
        assert json.loads(capsys.readouterr().out)["items"] == 3
    assert main(["--data", str(data), "eval", "--users", "0", "--json"]) == 2
    assert "--data" in capsys.readouterr().err


def test_every_option_has_a_long_form() -> None:
    """`-n` had no long form."""
    missing = [
        (words, action.option_strings)
        for words, parser in _commands(build_parser())
        for action in parser._actions
        if action.option_strings and not any(s.startswith("--") for s in action.option_strings)
    ]
    assert missing == []


def test_one_name_for_a_list_length(data: Path, run: Run) -> None:
    """Every command that sets a list length takes `-n`/`--n`, HTTP's `n`, and both agree."""
    lengths = {
        words
        for words, parser in _commands(build_parser())
        for action in parser._actions
        if action.dest == "n"
    }
    assert lengths == {
        ("similar",),
        ("search",),
        ("recommend",),
        ("profile",),
        ("popular",),
        ("latest",),
        ("recommend-from",),
        ("digest",),
        ("recommend-group",),
    }
    for words in lengths:
        parser = dict(_commands(build_parser()))[words]
        (action,) = [a for a in parser._actions if a.dest == "n"]
        assert action.option_strings == ["-n", "--n"], words
    _, short, _ = run(data, "search", "moon", "-n", "2", "--json")
    _, long, _ = run(data, "search", "moon", "--n", "2", "--json")
    assert short == long and len(json.loads(long)["items"]) == 2


def test_eval_and_demo_agree_on_names(capsys: pytest.CaptureFixture[str]) -> None:
    """`eval` used `--users` where `demo` used `--limit`: the same name for the same meaning,
    and the old spelling still works, hidden, with one line on stderr."""
    commands = dict(_commands(build_parser()))
    assert {"--users", "--k"} <= _options(commands[("eval",)])
    assert {"--users", "--items", "--limit"} <= _options(commands[("demo",)])
    args = build_parser().parse_args(["demo", "--items", "7", "--users", "3"])
    assert (args.items, args.users) == (7, 3)
    assert capsys.readouterr().err == ""
    args = build_parser().parse_args(["demo", "--limit", "5"])
    assert args.items == 5
    assert capsys.readouterr().err == "warning: --limit is deprecated; use --items\n"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--help"])
    shown = capsys.readouterr().out
    assert "--items N" in shown and "--limit" not in shown
