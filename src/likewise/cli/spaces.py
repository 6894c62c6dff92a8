"""`likewise space list|add`: the vector spaces of a store, and declaring one for vectors of
your own (which items then carry in `vectors`); and the `--vector` of `likewise search`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from likewise.cli.common import emit, open_engine
from likewise.cli.options import shared
from likewise.errors import InvalidInput

__all__ = ["parse_vector", "register"]

SubParsers = Any  # argparse's _SubParsersAction is private
METRICS = ("cosine", "dot", "euclidean")


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    what = "List or declare vector spaces (for vectors your items bring)."
    space = sub.add_parser("space", help=what, description=what)
    actions = space.add_subparsers(title="actions", required=True, metavar="action")
    what = "Every vector space: text (the model's) first, with its dimension and metric."
    p = actions.add_parser("list", parents=[shared(common)], help=what, description=what)
    p.set_defaults(handler=space_list)
    what = "Declare a space once; items then carry its vectors as vectors.NAME."
    p = actions.add_parser("add", parents=[shared(common)], help=what, description=what)
    p.add_argument("name", help="1-32 of a-z, 0-9 and _, starting with a letter")
    p.add_argument("--dim", type=int, required=True, help="how many numbers each vector has")
    p.add_argument(
        "--metric",
        choices=METRICS,
        default="cosine",
        help="cosine (default; vectors kept at unit length), dot or euclidean",
    )
    p.set_defaults(handler=space_add)


def _rows(spaces: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": s.name, "dim": s.dim, "metric": s.metric} for s in spaces.values()]


def space_list(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        rows = _rows(engine.spaces())
    emit(args, {"spaces": rows}, lambda: "\n".join(_line(r) for r in rows))
    return 0


def space_add(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        space = engine.add_space(args.name, args.dim, metric=args.metric)
    row = _rows({space.name: space})[0]
    emit(args, row, lambda: _line(row))
    return 0


def _line(row: dict[str, Any]) -> str:
    return f"{row['name']}: {row['dim']}-d, {row['metric']}"


def parse_vector(text: str) -> list[Any]:
    """`--vector`: a JSON array of numbers (their checks are the engine's), or InvalidInput
    naming `vector`."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, list):
        raise InvalidInput("must be a JSON array of numbers, e.g. '[0.1, 0.2]'", field="vector")
    return value
