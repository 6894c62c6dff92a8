"""`likewise digest`: a newsletter's lists for every user (or those a file names), written as
JSONL or CSV, each logged as an impression of strategy `digest`."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from likewise.cli.common import open_engine, parse_where
from likewise.cli.options import shared
from likewise.errors import InvalidInput, LikewiseError
from likewise.events.model import check_user_id
from likewise.recommend import Recommendation

__all__ = ["CSV_COLUMNS", "register"]

SubParsers = Any  # argparse's _SubParsersAction is private

# One CSV row per item, so a mail merge reads it without parsing nested values.
CSV_COLUMNS = ("digest", "user_id", "recommendation_id", "position", "item_id", "score", "reason")


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    text = (
        "A newsletter: n recommendations for every user (or those --users lists), leaving "
        "out what earlier digests sent; JSONL or CSV by --out's extension (default: JSONL "
        "on stdout). Each list is logged as an impression of strategy `digest`: put its "
        "recommendation_id in the links and send it back with the clicks."
    )
    p = sub.add_parser("digest", parents=[shared(common)], help=text, description=text)
    p.set_defaults(handler=digest)
    p.add_argument("--name", required=True, help="the digest's name, e.g. weekly")
    p.add_argument("-n", "--n", type=int, default=10, help="items per user (default 10)")
    p.add_argument(
        "--where",
        help='metadata filter as JSON, e.g. the last week: {"published_at": {"gte": "2026-11-23"}}',
    )
    p.add_argument("--users", metavar="FILE", help="user ids, one a line (default: every user)")
    p.add_argument("--segment", help="the users of this segment (see likewise segments)")
    p.add_argument("--out", metavar="FILE", help="where to write: *.jsonl or *.csv")
    p.add_argument("--strategy", help="how to recommend (default: the strategy setting)")
    p.add_argument(
        "--include-sent", action="store_true", help="do not leave out earlier digests' items"
    )


def digest(args: argparse.Namespace) -> int:
    kind = _kind(args.out)
    where = parse_where(args.where)
    done = [0]  # users so far
    with ExitStack() as stack:
        bar = _bar(stack)

        def progress(count: int) -> None:
            done[0] += count
            bar.update(count)

        users = None if args.users is None else _user_ids(stack, args.users)
        engine = stack.enter_context(open_engine(args))
        rows = engine.digest(
            args.name,
            args.n,
            users=users,
            segment=args.segment,
            where=where,
            exclude_sent=not args.include_sent,
            strategy=args.strategy,
            progress=progress,
        )  # checked here: a bad argument writes no file
        if args.out is None:
            lists, items = _write(sys.stdout, kind, args.name, rows)
        else:
            lists, items = _write_file(args.out, kind, args.name, rows)
    summary = {"digest": args.name, "users": done[0], "lists": lists, "items": items}
    summary["out"] = args.out or "-"
    line = (
        json.dumps(summary)
        if args.json
        else (
            f"digest {args.name}: {lists} lists ({items} items) for {done[0]} users"
            + (f", written to {args.out}" if args.out else "")
        )
    )
    print(line, file=sys.stderr)
    return 0


def _kind(out: str | None) -> str:
    if out is None:
        return "jsonl"
    suffix = Path(out).suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise InvalidInput("must end in .jsonl or .csv (the format follows it)", field="--out")


def _open_out(out: str) -> IO[str]:
    try:
        return open(out, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise InvalidInput(f"cannot write {out}: {exc.strerror}", field="--out") from None


def _write_file(
    path: str, kind: str, name: str, rows: Iterator[tuple[str, Recommendation]]
) -> tuple[int, int]:
    """`_write` into the file `path`. A write that fails (a full disk) is one line saying so,
    and that the lists made were logged as sent: the engine logs each list before it is
    handed over, so they are left out of the next digest unless --include-sent."""
    made = [0]

    def counted() -> Iterator[tuple[str, Recommendation]]:
        for row in rows:
            made[0] += 1
            yield row

    try:
        with _open_out(path) as out:  # closed here: its last buffer is written, or fails
            return _write(out, kind, name, counted())
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise LikewiseError(
            f"cannot write {path} (--out): {reason}; it is incomplete, and the {made[0]} "
            "lists made were logged as sent (a digest of them again needs --include-sent)"
        ) from None


def _user_ids(stack: ExitStack, path: str) -> Iterator[str]:
    """The ids of a file, one a line (blank lines skipped), read as the digest goes; each
    checked first, in a pass of its own, so a bad one (named by its line) refuses the
    digest before any list is made, written or logged as sent."""
    try:
        fh = stack.enter_context(open(path, encoding="utf-8"))  # noqa: SIM115 (the stack's)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", field="--users") from None
    for number, line in enumerate(fh, start=1):
        if line.strip():
            try:
                check_user_id(line.strip())
            except InvalidInput as exc:
                raise InvalidInput(exc.reason, field="--users", line=number) from None
    fh.seek(0)
    return (line.strip() for line in fh if line.strip())


def _bar(stack: ExitStack) -> tqdm[Any]:
    bar: tqdm[Any] = tqdm(desc="digest", unit=" users", file=sys.stderr, disable=None)
    stack.callback(bar.close)
    return bar


def _write(
    out: IO[str], kind: str, name: str, rows: Iterator[tuple[str, Recommendation]]
) -> tuple[int, int]:
    """Write each row as it comes; returns the lists and items written."""
    lists = items = 0
    writer = csv.writer(out) if kind == "csv" else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    for _, rec in rows:
        data = rec.as_dict()
        if writer is None:
            out.write(json.dumps({"digest": name, **data}, ensure_ascii=False) + "\n")
        else:
            for it in data["items"]:
                writer.writerow(
                    (name, rec.user_id, rec.id, it["position"], it["id"], it["score"], it["reason"])
                )
        lists += 1
        items += len(rec.items)
    return lists, items
