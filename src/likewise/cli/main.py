"""`likewise ...`: the command line over the Engine. The only module that prints.

Every `LikewiseError` becomes one line on stderr and exit code 2: `error: ...`, or with `--json`
the error object HTTP answers with (`{"error": {"code", "message", "field"}}`).
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
    evaluate,
    experiments,
    lists,
    models,
    personal,
    serve,
)
from likewise.config import StoreConfig
from likewise.errors import LikewiseError

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns (and, as a script, exits with) its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # Options may stand before or after the command; argparse shares the action objects of a
    # parent parser, so defaults are filled here rather than with set_defaults.
    for name, default in (("json", False), ("verbose", False)):
        if not hasattr(args, name):
            setattr(args, name, default)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    handler: Handler = args.handler
    try:
        with config.configured(args):  # --config (or likewise.toml in --data) for all it runs
            if getattr(args, "data", None) is None:
                args.data = StoreConfig().data  # LIKEWISE_DATA, checked like every setting
            return handler(args)
    except LikewiseError as exc:
        line = json.dumps(exc.as_dict(), ensure_ascii=False) if args.json else f"error: {exc}"
        print(line, file=sys.stderr)
        return 2
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
    parser = argparse.ArgumentParser(
        prog="likewise",
        description="Related items, search and recommendations, embedded and offline.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"likewise {__version__}")
    sub = parser.add_subparsers(title="commands", required=True, metavar="command")
    commands.register(sub, common)
    personal.register(sub, common)
    lists.register(sub, common)
    serve.register(sub, common)
    demo.register(sub, common)
    evaluate.register(sub, common)
    experiments.register(sub, common)
    backup.register(sub, common)
    config.register(sub, common)
    models.register(sub, common)
    return parser


if __name__ == "__main__":
    sys.exit(main())
