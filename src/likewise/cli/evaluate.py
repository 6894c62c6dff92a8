"""`likewise eval`: which strategy works on MovieLens, measured through the serving code."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from tqdm import tqdm

from likewise.cli.main import emit
from likewise.config import Settings
from likewise.engine import Engine
from likewise.errors import InvalidInput

SubParsers = Any  # argparse's _SubParsersAction is private
DATASETS = {"movielens-1m": "ml-1m", "movielens-100k": "ml-100k"}
DEFAULT = "popular,mean,ema,dislike,momentum,hybrid"


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    help = "Evaluate strategies on MovieLens: replay, hold out each user's last like, score."
    p = sub.add_parser("eval", parents=[common], help=help, description=help)
    p.add_argument("--dataset", choices=DATASETS, default="movielens-1m")
    p.add_argument("--strategies", default=DEFAULT, help=f"comma-separated (default {DEFAULT})")
    p.add_argument("--k", type=int, default=10, help="list length (default 10)")
    p.add_argument("--users", type=int, default=None, help="only the first N users")
    p.add_argument("--model", default="minilm", help="embedding model (default minilm)")
    p.add_argument("--out", help="write index.md and PNG plots to this folder")
    p.set_defaults(handler=evaluate)


def evaluate(args: argparse.Namespace) -> int:
    from likewise.datasets import movielens_items, movielens_ratings
    from likewise.evaluation.replay import evaluate as score
    from likewise.evaluation.replay import temporal_split
    from likewise.evaluation.report import markdown_table, write_report
    from likewise.recommender import RECOMMENDERS

    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    for name in strategies:
        if name not in (*RECOMMENDERS, "popular"):
            known = ", ".join(("popular", *RECOMMENDERS))
            raise InvalidInput(f"unknown strategy {name!r}; known: {known}", field="--strategies")
    if args.k < 1 or (args.users is not None and args.users < 1):
        raise InvalidInput("must be a positive number", field="--k" if args.k < 1 else "--users")
    dataset = DATASETS[args.dataset]
    items = movielens_items(dataset)
    history, targets = temporal_split(movielens_ratings(dataset, users=args.users))
    with tempfile.TemporaryDirectory(prefix="likewise-eval-") as folder:
        engine = Engine.open(folder, model=args.model, settings=Settings(cache_size=0))
        try:
            with _bar(len(items), "embed") as bar:
                engine.add_items(items, progress=bar.update)
            with _bar(len(history), "replay") as bar:
                for start in range(0, len(history), 5_000):
                    engine.record_many(history[start : start + 5_000])
                    bar.update(min(5_000, len(history) - start))
            if "hybrid" in strategies:
                engine.train()
            with _bar(len(targets) * len(strategies), "recommend") as bar:
                results = score(engine, targets, strategies, k=args.k, progress=bar.update)
        finally:
            engine.close()
    rows = [r.__dict__ for r in results]
    title = f"{args.dataset}, temporal leave-last-out, {len(targets):,} users, @{args.k}"
    if args.out:
        command = (
            f"likewise eval --dataset {args.dataset} --strategies {','.join(strategies)} "
            f"--k {args.k} --model {args.model}" + (f" --users {args.users}" if args.users else "")
        )
        index = write_report(Path(args.out), results, title, command)
        print(f"report: {index}", file=sys.stderr)
    emit(args, rows, lambda: markdown_table(results, title))
    return 0


def _bar(total: int, what: str) -> tqdm[Any]:
    return tqdm(total=total, desc=what, file=sys.stderr, disable=None)
