"""What every subcommand shares: opening the engine, reading `--where`, printing a result."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from likewise.engine import Engine
from likewise.items.loaders import json_object
from likewise.recommend import Recommendation
from likewise.store import Hit

__all__ = ["emit", "open_engine", "parse_where", "show_hits", "show_recommendation"]


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


def show_hits(args: argparse.Namespace, engine: Engine, hits: list[Hit]) -> None:
    """Hits as HTTP returns them (`{"items": [{"id", "score"}], "recommendation_id": null}`:
    a command logs no list), or a table with titles."""

    def table() -> str:
        if not hits:
            return "(no items)"
        titles = {item.id: item.title for item in engine.get_many([h.id for h in hits])}
        width = max(len(h.id) for h in hits)
        lines = []
        for h in hits:
            title = titles.get(h.id, "")
            title = title if title != h.id else ""
            lines.append(f"{h.score:7.4f}  {h.id:<{width}}  {title}".rstrip())
        return "\n".join(lines)

    emit(args, {"items": [h.as_dict() for h in hits], "recommendation_id": None}, table)


def show_recommendation(args: argparse.Namespace, engine: Engine, rec: Recommendation) -> None:
    """A recommendation as HTTP returns it, or a table with titles and reasons."""

    def table() -> str:
        if not rec.items:
            return "(no items)"
        titles = {i.id: i.title for i in engine.get_many([r.id for r in rec.items])}
        lines = [f"strategy: {rec.strategy}"]
        for r in rec.items:
            title = titles.get(r.id, "")
            label = r.id if title in ("", r.id) else f"{r.id}  {title}"
            lines.append(f"{r.score:7.4f}  {label}  ({r.reason})")
        return "\n".join(lines)

    emit(args, rec.as_dict(), table)
