"""One evaluation run, end to end: load the data, split it by the protocol, embed the catalog
into a scratch engine, replay the history (tuning first if asked), and score every strategy
through the serving code.

Example::

    from likewise.evaluation.run import EvalRequest, run

    evaluation = run(EvalRequest(dataset="movielens-100k", strategies=("popular", "ema")))
    print(evaluation.markdown)
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from likewise.config import Settings
from likewise.datasets import movielens_items, movielens_ratings
from likewise.errors import InvalidInput
from likewise.evaluation.plan import (
    DATASETS,
    Bars,
    EvalRequest,
    Evaluation,
    Trial,
    no_bars,
    parse_k,
    replay,
)
from likewise.evaluation.protocols import SEQUENTIAL_ANCHORS, core_rows, sequential_split
from likewise.evaluation.random_protocol import run_random
from likewise.evaluation.replay import (
    Result,
    cold_split,
    known_strategies,
    needs_model,
    temporal_split,
)
from likewise.evaluation.replay import evaluate as score
from likewise.evaluation.report import markdown_table, model_note, threshold_note
from likewise.evaluation.threshold import check_loss
from likewise.evaluation.tuning import OnTrial, Scratch, check_tune, ranking_overrides, tune
from likewise.recommend import RECOMMENDERS
from likewise.retrieval.neural_fit import require

__all__ = ["check", "run"]

Events = list[Mapping[str, Any]]
SETTINGS = {
    "temporal": "temporal leave-last-out",
    "sequential": "sequential (RecBole: ratings >= 3, 10-core, last interaction held out)",
}


@dataclass(frozen=True)
class Split:
    """The history to replay, each user's held-out item, and (cold-items) the items ranked."""

    history: Events
    targets: dict[str, str]
    cold: set[str] | None = None


def run(
    request: EvalRequest, *, bars: Bars = no_bars, on_trial: OnTrial | None = None
) -> Evaluation:
    """Measure every strategy of `request`; `bars` shows progress, `on_trial` hears each
    tuning trial (with whether its value was chosen) as soon as its parameter is tuned."""
    check_neural(request)
    if request.protocol == "random":
        return run_random(request, bars=bars)
    check(request)
    items, ratings = _load(request)
    split = _split(request, ratings)
    if not split.targets:  # a table of zeros would read as a measurement
        why = _EMPTY.get(request.protocol, "the data is too small to split")
        message = f"no user has a held-out item under {request.protocol}: {why}"
        raise InvalidInput(message, field="protocol")
    with tempfile.TemporaryDirectory(prefix="likewise-eval-") as folder:
        chosen, trials, results, model = _measure(folder, request, items, split, bars, on_trial)
    return _evaluation(request, split, results, chosen, trials, model)


def check(request: EvalRequest) -> None:
    """The request's values, checked before any data is read."""
    known = known_strategies(RECOMMENDERS)
    asked = (("strategies", request.strategy_names()), ("tune_strategy", [request.tune_strategy]))
    for field, names in asked:
        for name in names:
            if name not in known:
                message = f"unknown strategy {name!r}; known: {', '.join(known)}"
                raise InvalidInput(message, field=field)
    if parse_k(",".join(map(str, request.k)), "k") != request.k:
        raise InvalidInput("must be distinct list lengths in ascending order", field="k")
    if request.users is not None and request.users < 1:
        raise InvalidInput("must be a positive number", field="users")
    check_tune(request)
    check_loss(request.tune_min_score)


def check_neural(request: EvalRequest) -> None:
    """The neural model's epochs (the option, else the setting), checked before any data is
    read: not negative, the extra installed when asked for, asked for when scored."""
    epochs = request.neural_epochs
    if epochs is None:
        epochs = Settings().training.neural_epochs
    elif epochs < 0:
        raise InvalidInput("must be 0 or more", field="neural_epochs")
    if epochs:
        require("neural_epochs")
    elif "neural" in request.strategy_names():
        message = "`neural` is scored only when the neural model is trained (--neural-epochs N)"
        raise InvalidInput(message, field="strategies")


def _load(request: EvalRequest) -> tuple[list[Any], Sequence[Mapping[str, Any]]]:
    """(item records, rating or event rows) of MovieLens or of the team's own files."""
    dataset = DATASETS.get(request.dataset, "")
    if dataset:
        return movielens_items(dataset), movielens_ratings(dataset, users=request.users)
    if request.protocol == "sequential":
        message = "your own data is evaluated with the temporal protocol (no ratings needed)"
        raise InvalidInput(message, field="protocol")
    return _own_data(request.dataset, request.users)


def _own_data(given: str, users: int | None) -> tuple[list[Any], Sequence[Mapping[str, Any]]]:
    """Item records and events from `ITEMS,EVENTS` files; any bad record is an error."""
    from likewise.events.loaders import load_events
    from likewise.items import load_items

    parts = [p.strip() for p in given.split(",")]
    if len(parts) != 2 or not all(parts):
        known = ", ".join(DATASETS)
        message = f"use {known}, or ITEMS,EVENTS files (e.g. items.jsonl,events.csv)"
        raise InvalidInput(message, field="dataset")
    for path in parts:
        if not Path(path).is_file():
            raise InvalidInput(f"no such file: {path}", field="dataset")
    loaded, logged = load_items(parts[0]), load_events(parts[1])
    for path, errors in ((parts[0], loaded.errors), (parts[1], logged.errors)):
        if errors:
            message = f"{path}: {errors[0]} ({len(errors)} bad records)"
            raise InvalidInput(message, field="dataset")
    events: Events = [e.model_dump() for e in logged.events]
    if users is not None:
        keep = set(list(dict.fromkeys(str(e["user_id"]) for e in events))[:users])
        events = [e for e in events if str(e["user_id"]) in keep]
    # An item's own vectors are no part of its record; they go with it (a `vectors:<dim>`
    # store needs each item's `text` one).
    vectors = [{"vectors": {k: list(v) for k, v in i.vectors.items()}} for i in loaded.items]
    return [i.to_record() | own for i, own in zip(loaded.items, vectors, strict=True)], events


_EMPTY = {
    "cold-items": "no item first seen in the last 10% of events has a positive event from a "
    "user seen before them",
}


def _split(request: EvalRequest, ratings: Sequence[Mapping[str, Any]]) -> Split:
    if request.protocol == "sequential":
        likes, targets = sequential_split(core_rows(ratings))
        history: Events = list(likes)
        return Split(history, targets)
    if request.protocol == "cold-items":
        history, targets, cold = cold_split(ratings)
        return Split(history, targets, cold)
    return Split(*temporal_split(ratings))


def _measure(
    folder: str,
    request: EvalRequest,
    items: list[Any],
    split: Split,
    bars: Bars,
    on_trial: OnTrial | None,
) -> tuple[dict[str, float], list[Trial], list[Result], dict[str, Any] | None]:
    """(chosen values, tuning trials, results, the model trained): embed, tune if asked,
    replay, train (the hybrid's weights tuned on each user's validation item), score."""
    strategies = request.strategy_names()
    chosen: dict[str, float] = {}
    trials: list[Trial] = []
    history = split.history
    model = None
    with closing(Scratch(folder, request.model)) as scratch:
        with bars(len(items), "embed") as advance:
            scratch.engine.add_items(items, progress=advance)
        if request.tune:
            chosen, trials, history = tune(scratch, history, request, bars, on_trial)
        replay(scratch.engine, history, bars)
        if needs_model(strategies):
            model = scratch.engine.train(
                tune="hybrid" in strategies, neural_epochs=request.neural_epochs
            )
        with bars(len(split.targets) * len(strategies), "recommend") as advance:
            results = score(
                scratch.engine,
                split.targets,
                strategies,
                k=request.k,
                progress=advance,
                among=split.cold,
                min_score_loss=request.tune_min_score,
                **ranking_overrides(chosen),
            )
    return chosen, trials, results, model


def _evaluation(
    request: EvalRequest,
    split: Split,
    results: list[Result],
    chosen: dict[str, float],
    trials: list[Trial],
    model: dict[str, Any] | None = None,
) -> Evaluation:
    cold = f"cold items ({len(split.cold or ())} first seen in the last 10% of events)"
    setting = SETTINGS.get(request.protocol, cold)
    title = f"{request.dataset}, {setting}, {len(split.targets):,} users"
    notes = ""
    if chosen:
        notes = "\n\nTuned on each user's validation item, then used for the test: " + ", ".join(
            f"{name}={value:g}" for name, value in chosen.items()
        )
    notes += model_note(model) + threshold_note(results, request.tune_min_score)
    dataset = DATASETS.get(request.dataset, "")
    anchored = request.protocol == "sequential" and dataset == "ml-1m" and 10 in request.k
    if anchored and not request.users:
        notes += "\n\nRecBole's published HR@10 on these settings: " + ", ".join(
            f"{name} {hr:.4f}" for name, hr in SEQUENTIAL_ANCHORS.items()
        )
    by_k = {at: [r for r in results if r.k == at] for at in request.k}
    tables = "\n\n".join(markdown_table(r, f"{title}, @{at}") for at, r in by_k.items())
    return Evaluation(
        title=title,
        rows=[dict(r.__dict__) for r in results],
        markdown=tables + notes,
        notes=notes,
        results=results,
        tuning=trials,
        chosen=chosen,
    )
