"""`likewise report retention|engagement`: returning users per cohort of first seen, and
dwell time and returns per strategy or experiment variant.

Each report is one grouped query: there is no progress to show, so no progress bar.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from likewise.cli.common import emit, open_engine
from likewise.cli.options import shared
from likewise.errors import InvalidInput
from likewise.events.model import to_epoch
from likewise.tracking.retention import DAYS, parse_days

__all__ = ["register"]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    top = sub.add_parser("report", help="Returning users and engagement time.")
    actions = top.add_subparsers(title="reports", required=True, metavar="report")

    def add(name: str, fn: Callable[[argparse.Namespace], int], help: str) -> Any:
        parser = actions.add_parser(name, parents=[shared(common)], help=help, description=help)
        parser.set_defaults(handler=fn)
        parser.add_argument("--since", help="epoch seconds or ISO-8601 (default: everything)")
        parser.add_argument("--until", help="the report's time (default: now)")
        parser.add_argument(
            "--days", default="1,7,30", help="the days N to report, e.g. 1,7,30 (the default)"
        )
        return parser

    p = add("retention", retention, "Day-N retention per cohort of first seen (first event).")
    p.add_argument("--by", default="day", help="cohorts by 'day' (default) or 'week'")
    p = add("engagement", engagement, "Dwell time and day-N returns per strategy or variant.")
    p.add_argument("--group-by", default="strategy", help="'strategy' (default) or 'variant'")


def retention(args: argparse.Namespace) -> int:
    since, until, days = _window(args)
    with open_engine(args) as engine:
        rows = engine.retention_report(by=args.by, since=since, until=until, days=days)
    data = [r.as_dict() for r in rows]
    head = f"| cohort ({args.by}) | users | " + " | ".join(f"day {n}" for n in days) + " |"
    emit(args, data, lambda: _table(head, days, [(r["cohort"], r["users"], r) for r in data]))
    return 0


def engagement(args: argparse.Namespace) -> int:
    since, until, days = _window(args)
    with open_engine(args) as engine:
        rows = engine.engagement_report(group_by=args.group_by, since=since, until=until, days=days)
    data = [r.as_dict() for r in rows]
    head = (
        f"| {args.group_by} | lists | users | dwell s | dwell s/user | first shown | "
        + " | ".join(f"day {n}" for n in days)
        + " |"
    )
    lines = [
        (
            f"{r['group']} | {r['impressions']} | {r['users']} | {r['dwell_seconds']:g} | "
            + ("-" if r["dwell_per_user"] is None else f"{r['dwell_per_user']:.1f}"),
            r["first_shown"],
            r,
        )
        for r in data
    ]
    emit(args, data, lambda: _table(head, days, lines))
    return 0


def _table(head: str, days: tuple[int, ...], rows: list[tuple[str, int, dict[str, Any]]]) -> str:
    if not rows:
        return "no users in this window"
    out = [head, "| --- " * (head.count("|") - 1) + "|"]
    for name, size, row in rows:
        rates = " | ".join(
            "-" if r["rate"] is None else f"{r['rate']:.1%} ({r['returned']}/{r['eligible']})"
            for r in row["returns"]
        )
        out.append(f"| {name} | {size} | {rates} |")
    return "\n".join(out)


def _window(args: argparse.Namespace) -> tuple[float, float | None, tuple[int, ...]]:
    since = 0.0 if args.since is None else _time(args.since, "since")
    until = None if args.until is None else _time(args.until, "until")
    days = parse_days([d.strip() for d in args.days.split(",")]) if args.days else DAYS
    return since, until, days


def _time(text: str, field: str) -> float:
    try:
        found = to_epoch(text)
    except ValueError as exc:
        raise InvalidInput(str(exc), field=field) from None
    if not math.isfinite(found):
        raise InvalidInput("must be a time: epoch seconds or ISO-8601", field=field)
    return found
