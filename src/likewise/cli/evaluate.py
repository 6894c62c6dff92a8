"""`likewise eval`: which strategy works on MovieLens, measured through the serving code."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm import tqdm

from likewise.cli.common import emit
from likewise.cli.options import shared
from likewise.config import dump_toml
from likewise.errors import InvalidInput
from likewise.evaluation import plots
from likewise.evaluation.plan import (
    DEFAULT_STRATEGIES,
    EvalRequest,
    Progress,
    Trial,
    parse_k,
)
from likewise.evaluation.report import write_report
from likewise.evaluation.run import run
from likewise.evaluation.tuning import parse_tune, tuned_settings

SubParsers = Any  # argparse's _SubParsersAction is private
DEFAULT = ",".join(DEFAULT_STRATEGIES)


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    help = "Evaluate strategies on MovieLens: replay, hold out each user's last like, score."
    p = sub.add_parser("eval", parents=[shared(common, data=False)], help=help, description=help)
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
    p.add_argument(
        "--users",
        type=int,
        metavar="N",
        help="how many users to evaluate, the first N (default: every user)",
    )
    p.add_argument("--model", default="minilm", help="embedding model (default minilm)")
    p.add_argument("--out", help="write index.md, PNG plots and tuned.toml to this folder")
    p.add_argument(
        "--save-tuned",
        metavar="file",
        help="write the values --tune chose to this file as settings (TOML: give it to "
        "`likewise --config FILE`, or copy its lines into likewise.toml); default with "
        "--out: OUT/tuned.toml",
    )
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
    p.add_argument(
        "--tune-min-score",
        type=float,
        metavar="LOSS",
        help="report each strategy's min_score that loses at most this share of its hits, "
        "e.g. 0.05 (temporal, sequential and cold-items protocols)",
    )
    p.add_argument(
        "--neural-epochs",
        type=int,
        metavar="N",
        help="also train the neural next-item model (SASRec; needs likewise[neural]) for N "
        "passes and score it as `neural` (default: the neural_epochs setting, 0)",
    )
    p.set_defaults(handler=evaluate)


def evaluate(args: argparse.Namespace) -> int:
    with _named_as_options():
        request = _request(args)
        if args.out:
            _writable(Path(args.out), "--out")  # the report's folder, made after the run
        tuned = _tuned_file(args, request)
        evaluation = run(request, bars=_bar, on_trial=_print_trial)
    if evaluation.chosen:
        _save_tuned(tuned, evaluation.chosen, _command(args, request))
    if args.out and request.protocol != "random":
        index = write_report(
            Path(args.out),
            evaluation.at(request.k[0]),
            f"{evaluation.title}, @{request.k[0]}",
            _command(args, request),
            evaluation.tuning,
            evaluation.notes,
        )
        print(f"report: {index}", file=sys.stderr)
        if not plots.available():
            print(plots.PLOTS_HINT, file=sys.stderr)
    emit(args, evaluation.rows, lambda: evaluation.markdown)
    return 0


def _tuned_file(args: argparse.Namespace, request: EvalRequest) -> Path | None:
    """Where the tuned values go (checked before the run, which may take minutes)."""
    if not request.tune:
        return None
    if args.save_tuned:
        path = Path(args.save_tuned)
        if not path.parent.is_dir():
            raise InvalidInput(f"folder {path.parent} does not exist", field="--save-tuned")
        if path.is_dir():
            raise InvalidInput(f"{path} is a folder; give a file", field="--save-tuned")
        _writable(path.parent, "--save-tuned")
        return path
    return Path(args.out) / "tuned.toml" if args.out else None


def _writable(folder: Path, option: str) -> None:
    """`folder` is, or can be made as, a folder this process writes in: otherwise the run
    would end, minutes later, in a traceback instead of its report."""
    found = folder.absolute()
    while not found.exists() and found != found.parent:
        found = found.parent  # the first part that exists, in which the rest is made
    if not found.is_dir():
        raise InvalidInput(f"{found} is not a folder", field=option)
    if not os.access(found, os.W_OK | os.X_OK):
        raise InvalidInput(f"cannot write in {found}", field=option)


def _save_tuned(path: Path | None, chosen: dict[str, float], command: str) -> None:
    if path is None:
        print(
            "tuned values not saved: add --save-tuned FILE (or --out DIR) to keep them as "
            "settings for `likewise --config FILE`",
            file=sys.stderr,
        )
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# chosen by: {command}\n" + dump_toml(tuned_settings(chosen)))
    print(f"tuned settings: {path} (likewise --config {path} serve)", file=sys.stderr)


def _request(args: argparse.Namespace) -> EvalRequest:
    """The options as a request; `--tune-alpha V1,V2` is `--tune alpha=V1,V2`."""
    tune = []
    if args.protocol != "random":  # the random protocol tunes nothing
        tune = [parse_tune(text, "--tune") for text in args.tune]
        if args.tune_alpha:
            tune.append(parse_tune(f"alpha={args.tune_alpha}", "--tune-alpha"))
    given = [s.strip() for s in args.strategies.split(",") if s.strip()]
    return EvalRequest(
        dataset=args.dataset,
        protocol=args.protocol,
        strategies=None if args.strategies == DEFAULT else tuple(given),
        k=parse_k(args.k, "--k"),
        users=args.users,
        model=args.model,
        tune=tuple(tune),
        tune_strategy=args.tune_strategy,
        neural_epochs=args.neural_epochs,
        tune_min_score=args.tune_min_score,
    )


@contextmanager
def _named_as_options() -> Iterator[None]:
    """The evaluation names a bad value by its request field (`tune_strategy`); the person
    typed an option (`--tune-strategy`)."""
    try:
        yield
    except InvalidInput as exc:
        if exc.field not in EvalRequest.__dataclass_fields__:
            raise
        option = "--" + exc.field.replace("_", "-")
        raise InvalidInput(exc.reason, field=option, line=exc.line) from None


def _command(args: argparse.Namespace, request: EvalRequest) -> str:
    """The command line that reproduces the run, for the report."""
    command = (
        f"likewise eval --dataset {args.dataset} "
        f"--strategies {','.join(request.strategy_names())} "
        f"--k {args.k} --model {args.model}" + (f" --users {args.users}" if args.users else "")
    )
    for name, values in request.tune:
        command += f" --tune {name}={','.join(f'{v:g}' for v in values)}"
    if request.tune:
        command += f" --tune-strategy {args.tune_strategy}"
    if request.neural_epochs is not None:
        command += f" --neural-epochs {request.neural_epochs}"
    if request.tune_min_score is not None:
        command += f" --tune-min-score {request.tune_min_score:g}"
    return command


def _print_trial(trial: Trial, chosen: bool) -> None:
    name, value, r = trial
    mark = "  <- chosen" if chosen else ""
    print(
        f"validation {name}={value:g}: {r.strategy} NDCG@{r.k} {r.ndcg:.4f} HR@{r.k} {r.hr:.4f}"
        + mark,
        file=sys.stderr,
    )


@contextmanager
def _bar(total: int, what: str) -> Iterator[Progress]:
    with tqdm(total=total, desc=what, file=sys.stderr, disable=None) as bar:
        yield bar.update
