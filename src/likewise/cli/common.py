"""What every subcommand shares: opening the engine, reading `--where`, printing a result."""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from likewise.config import Settings, StoreConfig
from likewise.embedders.registry import get_embedder
from likewise.engine import Engine
from likewise.engine.tenants import Tenants
from likewise.errors import InvalidInput
from likewise.items.loaders import json_object
from likewise.recommend import Recommendation
from likewise.store import Hit

__all__ = [
    "emit",
    "new_store",
    "open_engine",
    "open_tenants",
    "parse_where",
    "refuse_file",
    "require_store",
    "show_hits",
    "show_recommendation",
    "skipped",
]

SHOWN = 20  # bad lines a refused file lists; the last line counts them all


def parse_where(text: str | None) -> dict[str, Any] | None:
    """`--where` as JSON, or an error naming the option."""
    return json_object(text, "--where")


@contextmanager
def open_engine(
    args: argparse.Namespace, *, create: bool = False, **kwargs: Any
) -> Iterator[Engine]:
    """The Engine on `--data`, or on its tenant `--tenant`. Only the commands that bring data
    in (`create`: ingest, events import, demo) make a new store; the others refuse a folder
    with no store, so a typo in `--data` is named instead of leaving an empty store behind.
    A tenant must have been made first (`likewise tenants create`)."""
    tenant = getattr(args, "tenant", None)
    if tenant is not None:
        with open_tenants(args, **kwargs) as tenants:
            yield tenants.engine(tenant)
        return
    if not create:
        require_store(args.data)
    engine = Engine.open(args.data, **kwargs)
    try:
        yield engine
    finally:
        engine.close()


@contextmanager
def new_store(
    args: argparse.Namespace, **kwargs: Any
) -> Iterator[tuple[Engine | None, dict[str, Any]]]:
    """For a command that makes the store (ingest, events import) and checks its file first:
    when `--data` names a folder with no store yet, an Engine on a new store in a temporary
    folder, made as `--data`'s would be, to check the file against (what a store refuses
    needs a store), so a refused file makes no store at `--data`; and the options to open
    `--data` with (the model loaded once, for both). None and `kwargs` as they are when
    there is a store (or a database, or a tenant) to check against."""
    folder = Path(args.data.removeprefix("file://"))
    if (
        getattr(args, "tenant", None) is not None
        or _database(args.data)
        or (folder / "likewise.db").exists()
        or (folder.exists() and not folder.is_dir())  # opening it names the problem
    ):
        yield None, kwargs
        return
    settings: Settings = kwargs.get("settings") or Settings()
    embedder = kwargs.get("embedder") or get_embedder(
        kwargs.get("model") or settings.store.model, embedding=settings.embedding
    )
    options = {k: v for k, v in kwargs.items() if k != "model"} | {"embedder": embedder}
    with (
        tempfile.TemporaryDirectory(prefix="likewise-check-") as scratch,
        Engine.open(scratch, **options) as engine,
    ):
        yield engine, options


@contextmanager
def open_tenants(args: argparse.Namespace, **kwargs: Any) -> Iterator[Tenants]:
    """The tenants of the store at `--data` (which must exist), closed with it after."""
    require_store(args.data)
    settings: Settings = kwargs.pop("settings", None) or Settings()
    store = StoreConfig(**{**settings.store.model_dump(), "data": args.data})
    settings = settings.model_copy(update={"store": store})
    with Engine.open(args.data, settings=settings, **kwargs) as default:
        tenants = Tenants(default, settings)
        try:
            yield tenants
        finally:
            tenants.close()


def require_store(location: str, field: str = "data") -> None:
    """Refuse a folder that holds no embedded store (a database URL is opened as given), so
    that opening it does not make one; `field` names where the location was given."""
    if _database(location):
        return
    folder = Path(location.removeprefix("file://"))
    if not (folder / "likewise.db").is_file():
        where = "check --data or LIKEWISE_DATA" if field == "data" else f"check {field}"
        raise InvalidInput(
            f"no likewise store at {folder} (likewise.db not found): {where}, or make one "
            "with `likewise ingest`",
            field=field,
        )


def _database(location: str) -> bool:
    """A URL (`postgresql://...`), not a folder (a path, or `file://`)."""
    url = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", location) is not None
    return url and not location.startswith("file://")


_WHEN = ("_at", "timestamp", "started", "stopped")  # keys whose numbers are epoch seconds


def plain(value: Any, key: str = "") -> str:
    """A value as a person reads it in text output (`--json` prints the value itself): no
    Python reprs (`True`, `None`, `['a', 'b']`, `{'k': 1}`), and epoch seconds as UTC times."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and key.endswith(_WHEN) and value > 1e8:
        return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k}={plain(v, str(k))}" for k, v in value.items())
        return f"({inner})" if key else inner
    if isinstance(value, list | tuple):
        return ", ".join(plain(v, key) for v in value) or "(none)"
    return str(value)


def lines(data: Mapping[str, Any], sep: str = "\n") -> str:
    """`key: value` for each entry, each value `plain`."""
    return sep.join(f"{k}: {plain(v, k)}" for k, v in data.items())


def emit(args: argparse.Namespace, data: Any, text: Callable[[], str]) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False) if args.json else text())


def refuse_file(
    args: argparse.Namespace, errors: Sequence[InvalidInput], nothing: str, hint: str
) -> int:
    """A file with bad lines and no `--skip-invalid`: the first bad lines, each with its line
    and field, then what was not done (`nothing`). With `--json` each line is the error
    object the other errors print, so a script reads every line of stderr the same way.
    Returns the exit code, 2."""
    if args.json:
        for err in errors[:SHOWN]:
            print(json.dumps(err.as_dict(), ensure_ascii=False), file=sys.stderr)
        bad = f"{len(errors)} bad line{'s' if len(errors) > 1 else ''}"
        last = InvalidInput(f"{nothing}: {bad} ({hint})", field="file")
        print(json.dumps(last.as_dict(), ensure_ascii=False), file=sys.stderr)
        return 2
    for err in errors[:SHOWN]:
        print(f"error: {args.file}: {err}", file=sys.stderr)
    if len(errors) > SHOWN:
        print(f"error: ... and {len(errors) - SHOWN} more", file=sys.stderr)
    print(f"error: {nothing} ({hint})", file=sys.stderr)
    return 2


def skipped(args: argparse.Namespace, errors: Sequence[InvalidInput]) -> list[dict[str, Any]]:
    """The bad lines `--skip-invalid` left out: each on stderr as it was read, and the list the
    `--json` report keeps (`skipped_lines`: line, field, message and code of each), so a
    script learns why, not only how many."""
    for err in errors:
        print(f"skipped: {args.file}: {err}", file=sys.stderr)
    return [
        {"line": err.line, "field": err.field, "message": err.reason, "code": err.code}
        for err in errors
    ]


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
