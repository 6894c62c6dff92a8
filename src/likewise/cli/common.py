"""What every subcommand shares: opening the engine, reading `--where`, printing a result."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from likewise.engine import Engine
from likewise.items.loaders import json_object

__all__ = ["emit", "open_engine", "parse_where"]


def parse_where(text: str | None) -> dict[str, Any] | None:
    """`--where` as JSON, or an error naming the option."""
    return json_object(text, "--where")


@contextmanager
def open_engine(args: argparse.Namespace, **kwargs: Any) -> Iterator[Engine]:
    engine = Engine.open(args.data, **kwargs)
    try:
        yield engine
    finally:
        engine.close()


def emit(args: argparse.Namespace, data: Any, text: Callable[[], str]) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False) if args.json else text())
