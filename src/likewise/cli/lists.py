"""`likewise popular`, `latest` and `recommend-from`: lists for no stored user."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from likewise.cli.common import open_engine, parse_where, show_hits, show_recommendation
from likewise.cli.options import shared
from likewise.cli.spaces import parse_vector
from likewise.recommend.session import SESSION_STRATEGIES

__all__ = ["SPACES_HELP", "register"]

SPACES_HELP = (
    "several vector spaces blended by weight, e.g. text:0.6,image:0.4 (each item's cosines "
    "summed, 0 in a space it has no vector in)"
)

SubParsers = Any  # argparse's _SubParsersAction is private


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    def add(name: str, fn: Callable[[argparse.Namespace], int], help: str) -> Any:
        parser = sub.add_parser(name, parents=[shared(common)], help=help, description=help)
        parser.set_defaults(handler=fn)
        parser.add_argument("-n", "--n", type=int, default=10, help="how many (default 10)")
        parser.add_argument("--where", help="metadata filter as JSON")
        parser.add_argument(
            "--exclude", action="append", default=[], metavar="ID", help="repeatable"
        )
        return parser

    p = add("popular", popular, "The items with the most positive signal.")
    p.add_argument("--trending", action="store_true", help="weigh events by age (7-day half-life)")
    add("latest", latest, "The items written last, newest first.")
    p = add(
        "recommend-from",
        recommend_from,
        "Items for no stored user, from items they like (and dislike).",
    )
    p.add_argument("positive", nargs="*", metavar="id", help="items to move towards")
    p.add_argument("--vector", help="a JSON array of numbers to move towards (a query vector)")
    p.add_argument("--space", default="text", help="the vector space of it all (default: text)")
    p.add_argument(
        "--negative", action="append", default=[], metavar="ID", help="move away (repeatable)"
    )
    p.add_argument(
        "--strategy",
        choices=SESSION_STRATEGIES,
        default="average_vector",
        help="average_vector (default), best_score or hybrid (the trained blend)",
    )
    p.add_argument("--min-score", type=float, help="leave out items scored below this")


def popular(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        hits = engine.popular(
            n=args.n, where=parse_where(args.where), exclude=args.exclude, trending=args.trending
        )
        show_hits(args, engine, hits)
    return 0


def latest(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        hits = engine.latest(n=args.n, where=parse_where(args.where), exclude=args.exclude)
        show_hits(args, engine, hits)
    return 0


def recommend_from(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        rec = engine.recommend_from(
            args.positive,
            args.negative,
            n=args.n,
            strategy=args.strategy,
            where=parse_where(args.where),
            exclude=args.exclude,
            min_score=args.min_score,
            vector=None if args.vector is None else parse_vector(args.vector),
            space=args.space,
        )
        show_recommendation(args, engine, rec)
    return 0
