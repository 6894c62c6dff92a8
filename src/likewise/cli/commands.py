"""The subcommands: each parses its options and calls one Engine method."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

from likewise.cli.common import (
    emit,
    lines,
    new_store,
    open_engine,
    parse_where,
    refuse_file,
    require_store,
    show_hits,
    skipped,
)
from likewise.cli.lists import SPACES_HELP
from likewise.cli.options import shared
from likewise.cli.spaces import parse_vector
from likewise.engine import Engine
from likewise.engine.catalog import SOURCES
from likewise.errors import InvalidInput
from likewise.items import load_items
from likewise.recommend.spaces import parse_spaces

SubParsers = Any  # argparse's _SubParsersAction is private


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    def add(
        name: str, handler: Callable[[argparse.Namespace], int], help: str, *, data: bool = True
    ) -> Any:
        parent = shared(common, data=data)
        parser = sub.add_parser(name, parents=[parent], help=help, description=help)
        parser.set_defaults(handler=handler)
        return parser

    p = add("ingest", ingest, "Add or update items from a .jsonl or .csv file.")
    p.add_argument(
        "file",
        help="one item per line (JSONL) or row (CSV, tags split on '|'); - reads JSONL from stdin",
    )
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="ingest the valid records and report each bad line (default: ingest nothing)",
    )
    p.add_argument(
        "--delete-missing",
        action="store_true",
        help="delete stored items that are not in the file (a full catalog sync)",
    )
    p.add_argument("--model", help="embedding model for a new store (default: minilm)")

    for name, fn, what in (
        ("similar", similar, "Items related to an item."),
        ("search", search, "Items closest to a free text, or to a vector (--vector)."),
    ):
        p = add(name, fn, what)
        if name == "similar":
            p.add_argument("query", metavar="id")
        else:
            p.add_argument("query", metavar="text", nargs="?", help="what to search for")
            p.add_argument("--vector", help="a JSON array of numbers to search for, not text")
            p.add_argument("--space", help="the space searched (default: text; image: see README)")
        p.add_argument("-n", "--n", type=int, default=10, help="how many (default 10)")
        p.add_argument("--where", help='metadata filter as JSON, e.g. \'{"category": "news"}\'')
        p.add_argument(
            "--exclude",
            action="append",
            default=[],
            metavar="ID",
            help="leave this id out (repeatable)",
        )
        p.add_argument("--min-score", type=float, help="leave out hits scored below this")
        if name == "similar":
            p.add_argument(
                "--source",
                choices=SOURCES,
                help="related (default: content and behaviour blended), content, behaviour "
                "or collaborative (the last two after train)",
            )
            p.add_argument("--spaces", help=SPACES_HELP)

    item = sub.add_parser(
        "item", help="Show, list or delete items.", description="Show, list or delete items."
    )
    item_sub = item.add_subparsers(title="actions", required=True, metavar="action")
    what = "Show one item: its fields as ingested."
    p = item_sub.add_parser("show", parents=[shared(common)], help=what, description=what)
    p.add_argument("id")
    p.set_defaults(handler=item_show)
    what = "List items in id order, a page at a time."
    p = item_sub.add_parser("list", parents=[shared(common)], help=what, description=what)
    p.add_argument("--limit", type=int, default=100, help="items per page (default 100)")
    p.add_argument("--cursor", help="the next_cursor a page printed: the page after it")
    p.add_argument("--where", help="metadata filter as JSON")
    p.set_defaults(handler=item_list)
    what = "Delete items by id, with their vectors."
    p = item_sub.add_parser("delete", parents=[shared(common)], help=what, description=what)
    p.add_argument("ids", nargs="+", metavar="id")
    p.set_defaults(handler=item_delete)

    add("stats", stats, "What the store holds.")
    add("migrate", migrate, "Bring the store's schema up to date (also done at every open).")
    what = "Copy a whole store into a new one (embedded <-> PostgreSQL), verified."
    p = add("copy", copy, what, data=False)  # its stores are its arguments
    p.add_argument("source", metavar="src", help="a data directory or postgresql://...")
    p.add_argument("destination", metavar="dst", help="a new data directory or an empty database")
    what = (
        "Embed every item again with another model, in durable batches beside the current "
        "vectors (search keeps working), then switch; run it again to continue a stopped one."
    )
    p = add("reembed", reembed, what)
    p.add_argument("--model", required=True, help="the new model, e.g. minilm or hashing-64")
    p.add_argument(
        "--restart",
        action="store_true",
        help="discard an unfinished reembed (of any model) and start over",
    )


def _progress(total: int, what: str) -> tqdm[Any]:
    return tqdm(total=total, desc=what, unit=" items", file=sys.stderr, disable=None)


def ingest(args: argparse.Namespace) -> int:
    loaded = load_items(args.file)

    def problems(engine: Engine) -> tuple[list[InvalidInput], list[tuple[int, InvalidInput]]]:
        bad = engine.check_items(loaded.items)  # what the store refuses (nothing to embed)
        errors = loaded.errors + [
            InvalidInput(exc.reason, field=exc.field, line=loaded.lines[i]) for i, exc in bad
        ]
        return sorted(errors, key=lambda err: err.line or 0), bad

    hint = "use --skip-invalid to ingest the valid records"
    with new_store(args, model=args.model) as (scratch, options):  # a refusal makes no store
        errors = [] if scratch is None or args.skip_invalid else problems(scratch)[0]
        if errors:
            return refuse_file(args, errors, "nothing was ingested", hint)
    with open_engine(args, create=True, **options) as engine:
        errors, bad = problems(engine)
        if errors and not args.skip_invalid:
            return refuse_file(args, errors, "nothing was ingested", hint)
        left_out = skipped(args, errors)
        skip = {i for i, _ in bad}
        items = [item for i, item in enumerate(loaded.items) if i not in skip]
        with _progress(len(items), "ingest") as bar:
            report = engine.add_items(
                items, delete_missing=args.delete_missing, progress=bar.update
            )
    data = {**report.as_dict(), "skipped": len(errors)}
    emit(args, {**data, "skipped_lines": left_out}, lambda: lines(data, "  "))
    return 0


def similar(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        where = parse_where(args.where)
        show_hits(
            args,
            engine,
            engine.similar(
                args.query,
                n=args.n,
                where=where,
                exclude=args.exclude,
                source=args.source,
                min_score=args.min_score,
                spaces=parse_spaces(args.spaces),
            ),
        )
    return 0


def search(args: argparse.Namespace) -> int:
    if (args.query is None) == (args.vector is None):
        raise InvalidInput("give a text or --vector, one of the two", field="text")
    with open_engine(args) as engine:
        where = parse_where(args.where)
        options = {"n": args.n, "where": where, "exclude": args.exclude}
        if args.vector is not None:
            vector = parse_vector(args.vector)
            space = args.space or "text"
            hits = engine.search_vector(vector, space=space, min_score=args.min_score, **options)
        else:
            space = args.space or "text"
            hits = engine.search(args.query, min_score=args.min_score, space=space, **options)
        show_hits(args, engine, hits)
    return 0


def item_show(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        record = engine.get(args.id).to_record()
    emit(args, record, lambda: lines(record))
    return 0


def item_list(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        page = engine.list_items(
            cursor=args.cursor, limit=args.limit, where=parse_where(args.where)
        )
    data = page.as_dict()

    def table() -> str:
        lines = [f"{i.id}  {i.title}".rstrip() for i in page.items] or ["(no items)"]
        if page.next_cursor is not None:
            lines.append(f"next page: --cursor {page.next_cursor}")
        return "\n".join(lines)

    emit(args, data, table)
    return 0


def item_delete(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        removed = engine.delete(args.ids)
    emit(args, {"deleted": removed}, lambda: f"deleted: {removed}")
    return 0


def stats(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        data = engine.stats()
    emit(args, data, lambda: lines(data))
    return 0


def migrate(args: argparse.Namespace) -> int:
    from likewise.store import open_store

    require_store(args.data)  # a folder with no store is refused, not made one
    store = open_store(args.data)  # opening applies what is missing
    try:
        data = store.stats()
    finally:
        store.close()
    version = data.get("schema_version")
    emit(args, data, lambda: f"{data['location']}: schema version {version}, up to date")
    return 0


def copy(args: argparse.Namespace) -> int:
    from likewise.copy import copy_store

    require_store(args.source, field="src")  # the source is only read: a typo makes no store
    report = copy_store(args.source, args.destination, progress=True)
    data = {"counts": report.counts, "checksums": report.checksums}
    emit(
        args,
        data,
        lambda: (
            "copied and verified (rows, checksum):\n"
            + "\n".join(f"  {t}: {n} {report.checksums[t][:16]}" for t, n in report.counts.items())
        ),
    )
    return 0


def reembed(args: argparse.Namespace) -> int:
    with (
        open_engine(args, embedder=None) as engine,
        _progress(engine.count(), f"reembed with {args.model}") as bar,
    ):
        done = engine.reembed(args.model, restart=args.restart, progress=bar.update)
        model = engine.stats()["model"]
    emit(
        args,
        {"reembedded": done, "model": model},
        lambda: f"reembedded: {done} items with {model}; the store and its profiles use it now",
    )
    return 0
