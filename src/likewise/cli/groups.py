"""`likewise recommend-group`: one list for a group of users watching together."""

from __future__ import annotations

import argparse
from typing import Any

from likewise.cli.common import open_engine, parse_where, show_recommendation
from likewise.cli.options import shared
from likewise.recommend.group import GROUP_STRATEGIES, MAX_MEMBERS

__all__ = ["register"]

SubParsers = Any  # argparse's _SubParsersAction is private


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    what = "One list for a group of users watching together (a household, friends)."
    p = sub.add_parser("recommend-group", parents=[shared(common)], help=what, description=what)
    p.set_defaults(handler=recommend_group)
    p.add_argument("users", nargs="+", metavar="user", help=f"2 to {MAX_MEMBERS} user ids")
    p.add_argument("-n", "--n", type=int, default=10, help="how many (default 10)")
    p.add_argument(
        "--strategy",
        choices=GROUP_STRATEGIES,
        default="average",
        help="average (the members' mean score, the default), least_misery (the lowest "
        "member score) or fair (each next item the best left of the member served least)",
    )
    p.add_argument("--where", help='metadata filter as JSON, e.g. \'{"category": "news"}\'')
    p.add_argument("--space", default="text", help="the vector space searched (default text)")
    p.add_argument(
        "--track",
        action="store_true",
        help="log the list as an impression, strategy group:STRATEGY (off by default)",
    )


def recommend_group(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        rec = engine.recommend_group(
            args.users,
            args.n,
            strategy=args.strategy,
            where=parse_where(args.where),
            space=args.space,
            track=args.track,
        )
        show_recommendation(args, engine, rec)
    return 0
