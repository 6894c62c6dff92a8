"""`likewise eval`: which strategy works on MovieLens, measured through the serving code."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from likewise.cli.common import emit
from likewise.config import Settings
from likewise.engine import Engine
from likewise.errors import InvalidInput

SubParsers = Any  # argparse's _SubParsersAction is private
DATASETS = {"movielens-1m": "ml-1m", "movielens-100k": "ml-100k"}
DEFAULT = "popular,mean,ema,ema+dislike,momentum,itemknn,hybrid"


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    help = "Evaluate strategies on MovieLens: replay, hold out each user's last like, score."
    p = sub.add_parser("eval", parents=[common], help=help, description=help)
    p.add_argument(
        "--dataset",
        default="movielens-1m",
        help="movielens-1m (default), movielens-100k, or your own data as ITEMS,EVENTS "
        "(e.g. items.jsonl,events.csv, the files `ingest` and `events import` read)",
    )
    p.add_argument(
        "--protocol",
        choices=("temporal", "sequential", "random", "cold-items"),
        default="temporal",
        help="temporal: each user's last like held out, replayed in time order (default); "
        "sequential: RecBole's ML-1M sequential settings (ratings >= 3 as likes, 10-core, "
        "the last interaction held out), beside its published HR@10; "
        "random: RecBole's ML-1M general benchmark (ratings >= 3, 10-core, 8:1:1 per user, "
        "full ranking) for popular and itemknn, beside RecBole's published NDCG@10; "
        "cold-items: items first seen in the last 10%% of events, ranked among themselves",
    )
    p.add_argument("--strategies", default=DEFAULT, help=f"comma-separated (default {DEFAULT})")
    p.add_argument(
        "--k", default="10", help="list lengths, comma-separated (default 10; e.g. 10,20)"
    )
    p.add_argument("--users", type=int, default=None, help="only the first N users")
    p.add_argument("--model", default="minilm", help="embedding model (default minilm)")
    p.add_argument("--out", help="write index.md and PNG plots to this folder")
    p.add_argument(
        "--tune",
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help="values to try on each user's second-to-last like, one parameter at a time in "
        "the order given (repeatable): alpha, beta, mean_n (profiles) or diversity, content, "
        "popular (hybrid weights beside collaborative 1); the best by NDCG of "
        "--tune-strategy is used for the test",
    )
    p.add_argument("--tune-alpha", help="shorthand for --tune alpha=V1,V2")
    p.add_argument("--tune-strategy", default="ema", help="the strategy tuning scores (ema)")
    p.set_defaults(handler=evaluate)


def evaluate(args: argparse.Namespace) -> int:
    if args.protocol == "random":
        return _random(args)
    from likewise.datasets import movielens_items, movielens_ratings
    from likewise.evaluation.protocols import SEQUENTIAL_ANCHORS, core_rows, sequential_split
    from likewise.evaluation.replay import ALIASES, Result, cold_split, temporal_split
    from likewise.evaluation.replay import evaluate as score
    from likewise.evaluation.report import markdown_table, write_report
    from likewise.recommender import RECOMMENDERS

    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    known = ("popular", *RECOMMENDERS, *ALIASES)
    for option, names in (("--strategies", strategies), ("--tune-strategy", [args.tune_strategy])):
        for name in names:
            if name not in known:
                message = f"unknown strategy {name!r}; known: {', '.join(known)}"
                raise InvalidInput(message, field=option)
    ks = _ks(args.k)
    if args.users is not None and args.users < 1:
        raise InvalidInput("must be a positive number", field="--users")
    dataset = DATASETS.get(args.dataset, "")
    grid = _grid(args.tune, args.tune_alpha)
    if any(name in RANKING_KNOBS for name, _ in grid) and args.tune_strategy != "hybrid":
        message = "diversity, content and popular shape the hybrid: use --tune-strategy hybrid"
        raise InvalidInput(message, field="--tune-strategy")
    ratings: Sequence[Mapping[str, Any]]
    if dataset:
        items = movielens_items(dataset)
        ratings = movielens_ratings(dataset, users=args.users)
    else:
        if args.protocol in ("sequential", "random"):
            message = "your own data is evaluated with the temporal protocol (no ratings needed)"
            raise InvalidInput(message, field="--protocol")
        items, ratings = _own_data(args.dataset, args.users)
    history: list[Mapping[str, Any]]
    cold: set[str] | None = None
    if args.protocol == "sequential":
        likes, targets = sequential_split(core_rows(ratings))
        history = list(likes)
    elif args.protocol == "cold-items":
        history, targets, cold = cold_split(ratings)
    else:
        history, targets = temporal_split(ratings)
    tuning: list[tuple[str, float, Result]] = []
    chosen: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="likewise-eval-") as folder:
        engine = Engine.open(folder, model=args.model, settings=Settings(cache_size=0))
        try:
            with _bar(len(items), "embed") as bar:
                engine.add_items(items, progress=bar.update)
            if grid:
                # Replay up to each user's second-to-last like and tune there, one parameter
                # at a time (the others at their best so far); then replay the rest with the
                # chosen values: the test item is looked at once.
                early, early_targets = temporal_split(history)
                _replay(engine, early)
                engine.train()
                for name, values in grid:
                    scored = []
                    for value in values:
                        trial = {**chosen, name: value}
                        if name in PROFILE_KNOBS:
                            engine = _reopen(engine, folder, _profile(trial))
                            engine.rebuild_profiles()
                        with _bar(len(early_targets), f"{name} {value:g}") as bar:
                            tuned = score(
                                engine,
                                early_targets,
                                [args.tune_strategy],
                                k=ks[0],
                                progress=bar.update,
                                **_ranking(trial),
                            )
                        scored.append((value, tuned[0]))
                    chosen[name] = max(scored, key=lambda pair: pair[1].ndcg)[0]
                    for value, r in scored:
                        tuning.append((name, value, r))
                        mark = "  <- chosen" if value == chosen[name] else ""
                        print(
                            f"validation {name}={value:g}: {args.tune_strategy} NDCG@{ks[0]} "
                            f"{r.ndcg:.4f} HR@{ks[0]} {r.hr:.4f}{mark}",
                            file=sys.stderr,
                        )
                engine = _reopen(engine, folder, _profile(chosen))
                engine.rebuild_profiles()
                seen = {id(e) for e in early}
                history = [e for e in history if id(e) not in seen]
            _replay(engine, history)
            if {"hybrid", "itemknn"} & set(strategies):
                engine.train()
            with _bar(len(targets) * len(strategies), "recommend") as bar:
                results = score(
                    engine,
                    targets,
                    strategies,
                    k=ks,
                    progress=bar.update,
                    among=cold,
                    **_ranking(chosen),
                )
        finally:
            engine.close()
    rows = [r.__dict__ for r in results]
    setting = {
        "temporal": "temporal leave-last-out",
        "sequential": "sequential (RecBole: ratings >= 3, 10-core, last interaction held out)",
        "cold-items": f"cold items ({len(cold or ())} first seen in the last 10% of events)",
    }[args.protocol]
    title = f"{args.dataset}, {setting}, {len(targets):,} users"
    notes = ""
    if chosen:
        notes = "\n\nTuned on each user's validation item, then used for the test: " + ", ".join(
            f"{name}={value:g}" for name, value in chosen.items()
        )
    if args.protocol == "sequential" and dataset == "ml-1m" and 10 in ks and not args.users:
        notes += "\n\nRecBole's published HR@10 on these settings: " + ", ".join(
            f"{name} {hr:.4f}" for name, hr in SEQUENTIAL_ANCHORS.items()
        )
    by_k = {at: [r for r in results if r.k == at] for at in ks}
    if args.out:
        command = (
            f"likewise eval --dataset {args.dataset} --strategies {','.join(strategies)} "
            f"--k {args.k} --model {args.model}" + (f" --users {args.users}" if args.users else "")
        )
        for name, values in grid:
            command += f" --tune {name}={','.join(f'{v:g}' for v in values)}"
        if grid:
            command += f" --tune-strategy {args.tune_strategy}"
        index = write_report(
            Path(args.out), by_k[ks[0]], f"{title}, @{ks[0]}", command, tuning, notes
        )
        print(f"report: {index}", file=sys.stderr)
    emit(
        args,
        rows,
        lambda: "\n\n".join(markdown_table(r, f"{title}, @{at}") for at, r in by_k.items()) + notes,
    )
    return 0


def _ks(text: str) -> list[int]:
    """`--k` as sorted distinct list lengths (InvalidInput naming --k otherwise)."""
    try:
        ks = sorted({int(part) for part in str(text).split(",") if part.strip()})
    except ValueError:
        raise InvalidInput("must be whole numbers separated by commas", field="--k") from None
    if not ks or ks[0] < 1 or ks[-1] > 100:
        raise InvalidInput("each k must be within 1..100", field="--k")
    return ks


def _own_data(given: str, users: int | None) -> tuple[list[Any], Sequence[Mapping[str, Any]]]:
    """Item records and events from `ITEMS,EVENTS` files; any bad record is an error."""
    from likewise.events.loaders import load_events
    from likewise.items import load_items

    parts = [p.strip() for p in given.split(",")]
    if len(parts) != 2 or not all(parts):
        known = ", ".join(DATASETS)
        message = f"use {known}, or ITEMS,EVENTS files (e.g. items.jsonl,events.csv)"
        raise InvalidInput(message, field="--dataset")
    for path in parts:
        if not Path(path).is_file():
            raise InvalidInput(f"no such file: {path}", field="--dataset")
    loaded, logged = load_items(parts[0]), load_events(parts[1])
    for path, errors in ((parts[0], loaded.errors), (parts[1], logged.errors)):
        if errors:
            raise InvalidInput(
                f"{path}: {errors[0]} ({len(errors)} bad records)", field="--dataset"
            )
    events: list[Mapping[str, Any]] = [e.model_dump() for e in logged.events]
    if users is not None:
        keep = set(list(dict.fromkeys(str(e["user_id"]) for e in events))[:users])
        events = [e for e in events if str(e["user_id"]) in keep]
    return [i.to_record() for i in loaded.items], events


def _random(args: argparse.Namespace) -> int:
    """RecBole's random protocol: reproduce its published anchors before trusting the harness."""
    from likewise.datasets import movielens_items, movielens_ratings
    from likewise.evaluation.protocols import (
        ANCHORS,
        EASE_NDCG,
        MATRIX_STRATEGIES,
        RANDOM_STRATEGIES,
        RECBOLE_RUN,
        core_filter,
        random_split,
        score_random,
    )

    given = args.strategies if args.strategies != DEFAULT else "popular,itemknn,hybrid"
    strategies = [s.strip() for s in given.split(",") if s.strip()]
    for name in strategies:
        if name not in RANDOM_STRATEGIES:
            known = ", ".join(RANDOM_STRATEGIES)
            message = f"unknown {name!r} for --protocol random; known: {known}"
            raise InvalidInput(message, field="--strategies")
    dataset = DATASETS.get(args.dataset, "")
    if not dataset:
        raise InvalidInput("the random protocol reads MovieLens ratings", field="--dataset")
    k = _ks(args.k)[0]
    split = random_split(core_filter(movielens_ratings(dataset, users=args.users)))
    events = [
        {"user_id": u, "item_id": i, "type": "like", "timestamp": float(n)}
        for u, items in split.train.items()
        for n, i in enumerate(items)
    ]
    asked = [s for s in strategies if s not in MATRIX_STRATEGIES]
    # popular and itemknn need only the events: a small hashing model keeps the catalog cheap.
    model = args.model if asked else "hashing-64"
    settings = Settings(cache_size=0)
    with (
        tempfile.TemporaryDirectory(prefix="likewise-eval-") as folder,
        Engine.open(folder, model=model, settings=settings) as engine,
    ):
        catalog = movielens_items(dataset)
        with _bar(len(catalog), "embed") as bar:
            engine.add_items(catalog, progress=bar.update)
        _replay(engine, events)
        engine.train()
        with _bar(len(split.test) * len(asked), "recommend") as bar:
            results = score_random(engine, split, strategies, k=k, progress=bar.update)
    rows: list[dict[str, Any]] = [{"strategy": s, **r} for s, r in results.items()]
    users = int(rows[0]["users"]) if rows else 0
    title = (
        f"{args.dataset}, random 8:1:1 (RecBole general: ratings >= 3, 10-core, full ranking), "
        f"{users:,} users, @{k}"
    )
    comparable = k == 10 and dataset == "ml-1m" and args.users is None

    def table() -> str:
        lines = [
            f"## {title}",
            "| strategy | NDCG | HR | Recall | NDCG on validation | RecBole published | "
            "difference | RecBole 1.2.1 run (test / validation) | difference |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in rows:
            name = str(row["strategy"])
            anchor = ANCHORS.get(name) if comparable else None
            run = RECBOLE_RUN.get(name) if comparable else None
            ndcg = float(row["ndcg"])
            cells = [
                f"{row['valid_ndcg']:.4f}" if "valid_ndcg" in row else "",
                f"{anchor[0]:.3f}" if anchor else "",
                f"{ndcg / anchor[0] - 1:+.1%}" if anchor else "",
                f"{run[0]:.4f} / {run[1]:.4f}" if run else "",
                f"{ndcg / run[0] - 1:+.1%}" if run else "",
            ]
            lines.append(
                f"| {name} | {ndcg:.4f} | {row['hr']:.4f} | {row['recall']:.4f} | "
                + " | ".join(cells)
                + " |"
            )
        if comparable and "hybrid" in results:
            ratio = results["hybrid"]["ndcg"] / EASE_NDCG
            lines.append(
                f"\nRecBole's EASE reaches NDCG@10 {EASE_NDCG} here; the hybrid reaches "
                f"{ratio:.0%} of it."
            )
        return "\n".join(lines)

    emit(args, rows, table)
    return 0


PROFILE_KNOBS = {"alpha": (0.0, 1.0), "beta": (0.0, 5.0), "mean_n": (1.0, 50.0)}
RANKING_KNOBS = {"diversity": (0.0, 1.0), "content": (0.0, 10.0), "popular": (0.0, 10.0)}


def _grid(tune: list[str], alphas: str | None) -> list[tuple[str, list[float]]]:
    """`--tune NAME=V1,V2` options (and `--tune-alpha V1,V2`) as (name, values), checked."""
    given = [*tune, *([f"alpha={alphas}"] if alphas else [])]
    out: list[tuple[str, list[float]]] = []
    for text in given:
        name, _, values = text.partition("=")
        field = "--tune-alpha" if alphas and text == given[-1] else "--tune"
        bounds = {**PROFILE_KNOBS, **RANKING_KNOBS}.get(name.strip())
        if bounds is None:
            known = ", ".join([*PROFILE_KNOBS, *RANKING_KNOBS])
            raise InvalidInput(f"unknown parameter {name!r}; known: {known}", field=field)
        try:
            numbers = [float(v) for v in values.split(",") if v.strip()]
        except ValueError:
            raise InvalidInput("must be numbers separated by commas", field=field) from None
        low, high = bounds
        if (
            not numbers
            or any(not low <= v <= high for v in numbers)
            or (name == "alpha" and 0.0 in numbers)
        ):
            raise InvalidInput(f"each {name} must be in ({low:g}, {high:g}]", field=field)
        out.append((name.strip(), numbers))
    return out


def _profile(chosen: dict[str, float]) -> dict[str, Any]:
    """The profile settings among the chosen values (mean_n is a count)."""
    out: dict[str, Any] = {k: v for k, v in chosen.items() if k in PROFILE_KNOBS}
    if "mean_n" in out:
        out["mean_n"] = int(out["mean_n"])
    return out


def _ranking(chosen: dict[str, float]) -> dict[str, Any]:
    """The hybrid's per-request overrides among the chosen values."""
    weights = {k: chosen[k] for k in ("content", "popular") if k in chosen}
    return {
        "weights": {**Settings().ranking.hybrid_weights, **weights} if weights else None,
        "diversity": chosen.get("diversity"),
    }


def _replay(engine: Engine, events: list[Any]) -> None:
    with _bar(len(events), "replay") as bar:
        for start in range(0, len(events), 5_000):
            engine.record_many(events[start : start + 5_000])
            bar.update(min(5_000, len(events) - start))


def _reopen(engine: Engine, folder: str, profile: dict[str, Any]) -> Engine:
    engine.close()
    return Engine.open(folder, settings=Settings(cache_size=0, **profile))


def _bar(total: int, what: str) -> tqdm[Any]:
    return tqdm(total=total, desc=what, file=sys.stderr, disable=None)
