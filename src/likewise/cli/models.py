"""`likewise models`: the embedding models the installed plugins offer, likewise's own
included, with their dimensions and the distribution each comes from. It opens no store,
loads no weights and calls no server; a plugin that fails to load is listed with its error."""

from __future__ import annotations

import argparse
from typing import Any

from likewise.cli.common import emit
from likewise.embedders.registry import Listed, listed

__all__ = ["register"]

SubParsers = Any  # argparse's _SubParsersAction is private


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    text = "The embedding models installed: names, dimensions, and where each comes from."
    parser = sub.add_parser("models", parents=[common], help=text, description=text)
    parser.set_defaults(handler=models)


def models(args: argparse.Namespace) -> int:
    rows = listed()
    emit(args, {"models": [r.as_dict() for r in rows]}, lambda: table(rows))
    return 0


def table(rows: list[Listed]) -> str:
    """One line a model: name, dimension ("depends" when the name or the server decides),
    `distribution version`, then what it is, or `error: ...` for a plugin that cannot work."""
    cells = [
        (
            r.name,
            "depends" if r.dim is None else str(r.dim),
            f"{r.distribution} {r.version}",
            f"error: {r.error}" if r.error else r.note,
        )
        for r in rows
    ]
    head = ("name", "dim", "from", "")
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(3)]
    lines = ("  ".join([*(c[i].ljust(widths[i]) for i in range(3)), c[3]]) for c in [head, *cells])
    return "\n".join(line.rstrip() for line in lines)
