"""`likewise ...`: the command line over the Engine. The only module that prints.

Every error becomes one line on stderr: `error: ...`, or with `--json` the error object HTTP
answers with (`{"error": {"code", "message", "field"}}`), usage errors included. The exit
code says what kind of error it was, by the exception's class (`EXIT_CODES`):

- 0: done.
- 1: a fault that is not the caller's input: the store unreachable, full or damaged, the model
  not loadable (`StoreError` and its subclasses, `EmbedderError`).
- 2: a usage error or invalid input: an unknown option, a bad value, file or setting
  (argparse's refusals, `InvalidInput`, `Conflict`, `ConfigError`).
- 3: something named does not exist: an item, a variant, an experiment (`NotFound`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence

from likewise import __version__
from likewise.cli import (
    backup,
    commands,
    config,
    demo,
    digest,
    evaluate,
    experiments,
    groups,
    lists,
    models,
    personal,
    retention,
    segments,
    serve,
    spaces,
    tenants,
    watch,
)
from likewise.cli.options import (
    GLOBAL,
    Parser,
    Usage,
    refuse_not_utf8,
    refuse_unused,
    shared,
)
from likewise.config import StoreConfig
from likewise.errors import ConfigError, InvalidInput, LikewiseError, NotFound

__all__ = ["EXIT_CODES", "exit_code", "main"]

Handler = Callable[[argparse.Namespace], int]

# The first class an error is an instance of gives the exit code; any other LikewiseError is 1.
EXIT_CODES: tuple[tuple[type[LikewiseError], int], ...] = (
    (NotFound, 3),
    (InvalidInput, 2),
    (ConfigError, 2),
)


# Commands that take `--data` but do not open the store through `open_engine`, so would
# not honour `--tenant`: refused rather than run on the server's own store.
TENANTLESS = ("likewise.cli.backup", "likewise.cli.config", "likewise.cli.models")


def exit_code(exc: LikewiseError) -> int:
    """The exit code of an error (see the list above): 1 unless it is the caller's input."""
    return next((code for cls, code in EXIT_CODES if isinstance(exc, cls)), 1)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns (and, as a script, exits with) its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        refuse_unused(parser, args, argv)
        refuse_not_utf8(parser, args, argv)
        if hasattr(args, "tenant") and args.handler.__module__ in TENANTLESS:
            raise Usage(parser, "argument --tenant: this command does not take it")
    except Usage as exc:
        as_json = "--json" in argv
        print(
            json.dumps(exc.as_dict(), ensure_ascii=False) if as_json else exc.text(),
            file=sys.stderr,
        )
        return 2
    # Options may stand before or after the command; argparse shares the action objects of a
    # parent parser, so defaults are filled here rather than with set_defaults.
    for name, default in (("json", False), ("verbose", False), ("takes", GLOBAL)):
        if not hasattr(args, name):
            setattr(args, name, default)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    handler: Handler = args.handler
    try:
        with config.configured(args):  # --config (or likewise.toml in --data) for all it runs
            if "data" in args.takes and getattr(args, "data", None) is None:
                args.data = StoreConfig().data  # LIKEWISE_DATA, checked like every setting
            return handler(args)
    except LikewiseError as exc:
        line = json.dumps(exc.as_dict(), ensure_ascii=False) if args.json else f"error: {exc}"
        print(line, file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        print("interrupted: every batch written before this point is kept", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader left (`likewise search ... | head`): not an error. Point stdout at
        # /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def build_parser() -> argparse.ArgumentParser:
    default = StoreConfig.model_fields["data"].default
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data",
        default=argparse.SUPPRESS,
        help=f"data directory or postgresql:// URL (env LIKEWISE_DATA, default {default})",
    )
    common.add_argument(
        "--tenant",
        default=argparse.SUPPRESS,
        metavar="NAME",
        help="a tenant's store instead of the server's own (made with `likewise tenants create`)",
    )
    config.add_option(common)
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print JSON instead of a table",
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log what happens"
    )
    parser = Parser(
        prog="likewise",
        description="Related items, search and recommendations, embedded and offline.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"likewise {__version__}")
    sub = parser.add_subparsers(title="commands", required=True, metavar="command")
    commands.register(sub, common)
    personal.register(sub, common)
    groups.register(sub, common)
    lists.register(sub, common)
    spaces.register(sub, common)
    serve.register(sub, shared(common, json=False, tenant=False))  # prints no data
    demo.register(sub, common)
    evaluate.register(sub, common)
    experiments.register(sub, common)
    digest.register(sub, common)
    segments.register(sub, common)
    backup.register(sub, common)
    config.register(sub, common)
    models.register(sub, common)
    tenants.register(sub, shared(common, tenant=False))
    watch.register(sub, common)
    retention.register(sub, common)
    return parser


if __name__ == "__main__":
    sys.exit(main())
