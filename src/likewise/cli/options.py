"""The command line's conventions for options, in one place.

- `shared`: the options every command could take (`--data`, `--tenant`, `--json`, `-v`) given
  only to the commands they mean something to (`--tenant` goes with `--data`, except where a
  command does not open the store through `open_engine`: `tenant=False`); `likewise --json
  serve` is a usage error, not ignored.
- `Parser`: argparse's refusals raised as `Usage`, so `main` prints them as one JSON object
  when `--json` was given, as it prints every other error.
- `Renamed`: an old spelling that still works, hidden from `--help`, with one line on stderr
  saying which name replaced it.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from likewise.items.records import lone_surrogate

__all__ = ["GLOBAL", "Parser", "Renamed", "Usage", "refuse_not_utf8", "refuse_unused", "shared"]

GLOBAL = ("data", "tenant", "json", "verbose")  # the dests of the options the top level takes too


class Usage(Exception):
    """A command line argparse refused: exit code 2, like every invalid input."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.field, self.reason = _field(message)

    def as_dict(self) -> dict[str, dict[str, str | None]]:
        """The error object every other error prints with `--json`."""
        return {"error": {"code": "usage", "message": self.reason, "field": self.field}}

    def text(self) -> str:
        """What argparse prints: the command's usage, then the reason."""
        return f"{self.parser.format_usage()}{self.parser.prog}: error: {self}"


def _field(message: str) -> tuple[str | None, str]:
    """The option or positional an argparse message names (its long form), and the rest."""
    named = re.match(r"argument ([^:]+): (.*)$", message, re.S)
    if named:
        return named[1].split("/")[-1], named[2]
    listed = re.match(
        r"(the following arguments are required|unrecognized arguments): (\S+)", message
    )
    if listed:
        return listed[2].rstrip(","), message
    return None, message


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose refusals reach `main` as `Usage` instead of exiting at once.
    Subcommands are made of the same class (argparse's `add_subparsers` uses the parent's)."""

    def error(self, message: str) -> NoReturn:
        raise Usage(self, message)


def shared(
    common: argparse.ArgumentParser,
    *,
    data: bool = True,
    json: bool = True,
    tenant: bool | None = None,
) -> argparse.ArgumentParser:
    """The parent parser of one command: `common`'s options, less `--data` for a command that
    opens no store (`eval`, `copy`) and `--json` for one that prints no data (`serve`,
    `demo`). It records which shared options the command takes (`takes`), so one given
    before the command (`likewise --json demo`) is refused rather than silently ignored."""
    tenant = data if tenant is None else tenant
    kept = (("data", data), ("json", json), ("tenant", tenant))
    dropped = {name for name, keep in kept if not keep}
    parent = argparse.ArgumentParser(add_help=False)
    for action in common._actions:
        if action.dest not in dropped:
            parent._add_action(action)
    parent.set_defaults(takes=frozenset(GLOBAL) - dropped)
    return parent


def refuse_unused(
    parser: argparse.ArgumentParser, args: argparse.Namespace, argv: Sequence[str]
) -> None:
    """Raise `Usage` for a shared option given before a command that does not take it."""
    takes = getattr(args, "takes", frozenset(GLOBAL))
    for dest in GLOBAL:
        if hasattr(args, dest) and dest not in takes:
            option = "--" + dest
            raise Usage(
                parser, f"argument {option}: `likewise {_command(parser, argv)}` does not take it"
            )


def _command(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str:
    """The command's words in `argv` (`item show`)."""
    return " ".join(_walk(parser, argv)[0])


def _walk(
    parser: argparse.ArgumentParser, argv: Sequence[str]
) -> tuple[list[str], argparse.ArgumentParser]:
    """The command's words in `argv` and its parser, found by walking the subcommands."""
    words: list[str] = []
    for token in argv:
        choices = next(
            (a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)),
            None,
        )
        if choices and token in choices:
            words.append(token)
            parser = choices[token]
    return words, parser


# Arguments that name a file, a folder or a store: a path may hold any bytes. Every other
# argument is text (an id, a name, JSON) that must be UTF-8 to be stored or compared.
PATHS = frozenset(
    ("config", "data", "dataset", "destination", "file", "folder", "out", "save_tuned", "source")
)


def refuse_not_utf8(
    parser: argparse.ArgumentParser, args: argparse.Namespace, argv: Sequence[str]
) -> None:
    """Raise `Usage` naming a text argument with bytes that are not UTF-8 (`likewise item
    show $'\\xff'`): Python keeps them as lone surrogates, which no store can encode."""
    command = _walk(parser, argv)[1]
    for action in command._actions:
        if action.dest in PATHS or action.metavar in ("FILE", "file"):
            continue
        value = getattr(args, action.dest, None)
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and lone_surrogate(text):  # bytes argv could not decode
                label = action.metavar if isinstance(action.metavar, str) else action.dest
                name = (action.option_strings or [label])[-1]
                raise Usage(command, f"argument {name}: is not UTF-8 text")


class Renamed(argparse.Action):
    """An old option name kept working after a rename: it stores into the new option's dest,
    is left out of `--help`, and says once on stderr which name to use."""

    def __init__(self, option_strings: list[str], dest: str, *, new: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)
        self.new = new

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(f"warning: {option_string} is deprecated; use {self.new}", file=sys.stderr)
        setattr(namespace, self.dest, values)
