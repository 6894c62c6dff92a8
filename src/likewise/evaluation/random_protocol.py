"""RecBole's random protocol: reproduce its published anchors before trusting the harness."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from likewise.config import Settings
from likewise.datasets import movielens_items, movielens_ratings
from likewise.engine import Engine
from likewise.errors import InvalidInput
from likewise.evaluation.plan import DATASETS, Bars, EvalRequest, Evaluation, no_bars, replay
from likewise.evaluation.protocols import (
    ANCHORS,
    EASE_LAMBDA,
    EASE_NDCG,
    MATRIX_STRATEGIES,
    RANDOM_STRATEGIES,
    RECBOLE_RUN,
    core_filter,
    ndcg_at,
    random_split,
    score_random,
)
from likewise.evaluation.report import model_note

__all__ = ["run_random"]


def run_random(request: EvalRequest, *, bars: Bars = no_bars) -> Evaluation:
    """RecBole's ML general benchmark (ratings >= 3, 10-core, 8:1:1 per user, full ranking)
    at the first k, beside RecBole's published and reproduced figures."""
    strategies = request.strategy_names()
    for name in strategies:
        if name not in RANDOM_STRATEGIES:
            known = ", ".join(RANDOM_STRATEGIES)
            message = f"unknown {name!r} for --protocol random; known: {known}"
            raise InvalidInput(message, field="strategies")
    dataset = DATASETS.get(request.dataset, "")
    if not dataset:
        raise InvalidInput("the random protocol reads MovieLens ratings", field="dataset")
    k = request.k[0]
    split = random_split(core_filter(movielens_ratings(dataset, users=request.users)))
    events = [
        {"user_id": u, "item_id": i, "type": "like", "timestamp": float(n)}
        for u, items in split.train.items()
        for n, i in enumerate(items)
    ]
    asked = [s for s in strategies if s not in MATRIX_STRATEGIES]
    # popular and itemknn need only the events: a small hashing model keeps the catalog cheap.
    embedder = request.model if asked else "hashing-64"
    with (
        tempfile.TemporaryDirectory(prefix="likewise-eval-") as folder,
        Engine.open(folder, model=embedder, settings=Settings(cache_size=0)) as engine,
    ):
        catalog = movielens_items(dataset)
        with bars(len(catalog), "embed") as advance:
            engine.add_items(catalog, progress=advance)
        replay(engine, events, bars)
        model = engine.train(tune="hybrid" in strategies, neural_epochs=request.neural_epochs)
        with bars(len(split.test) * len(asked), "recommend") as advance:
            results = score_random(engine, split, list(strategies), k=k, progress=advance)
    evaluation = _evaluation(request, dataset, k, results)
    spread = ""
    if "ease" in strategies and request.users is None:
        spread = seed_note(core_filter(movielens_ratings(dataset)), k)
    notes = model_note(model) + spread
    return dataclasses.replace(evaluation, markdown=evaluation.markdown + notes, notes=notes)


SEEDS = (2020, 1, 2, 3, 4)  # RecBole's split seed first


def seed_note(pairs: list[tuple[str, str]], k: int) -> str:
    """EASE's NDCG@k on five splits (RecBole's seed first), fit in memory as `train` fits it."""
    from likewise.retrieval.linear import Ease

    figures = []
    for seed in SEEDS:
        split = random_split(pairs, seed=seed)
        users = [u for u in sorted(split.test) if split.test[u]]
        ease = Ease.fit([split.train[u] for u in users], lam=EASE_LAMBDA, window=1 << 30)
        total = 0.0
        for user in users:
            history = [*split.train[user]]
            top = ease.top(history, k, exclude=split.valid[user])
            total += ndcg_at(list(top), set(split.test[user]), k)
        figures.append(total / len(users))
    each = ", ".join(f"{s}: {f:.4f}" for s, f in zip(SEEDS, figures, strict=True))
    return f"\n\nEASE NDCG@{k} over five splits (seed {each}): mean {np.mean(figures):.4f}."


def _evaluation(
    request: EvalRequest, dataset: str, k: int, results: Mapping[str, Mapping[str, float]]
) -> Evaluation:
    rows: list[dict[str, Any]] = [{"strategy": s, **r} for s, r in results.items()]
    users = int(rows[0]["users"]) if rows else 0
    title = (
        f"{request.dataset}, random 8:1:1 (RecBole general: ratings >= 3, 10-core, "
        f"full ranking), {users:,} users, @{k}"
    )
    comparable = k == 10 and dataset == "ml-1m" and request.users is None
    lines = [
        f"## {title}",
        "| strategy | NDCG | HR | Recall | NDCG on validation | RecBole published | "
        "difference | RecBole 1.2.1 run (test / validation) | difference |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(_row(row, comparable) for row in rows),
    ]
    if comparable and "hybrid" in results:
        ratio = results["hybrid"]["ndcg"] / EASE_NDCG
        lines.append(
            f"\nRecBole's EASE reaches NDCG@10 {EASE_NDCG} here; the hybrid reaches "
            f"{ratio:.0%} of it."
        )
    return Evaluation(title=title, rows=rows, markdown="\n".join(lines))


def _row(row: Mapping[str, Any], comparable: bool) -> str:
    """One strategy's line, beside RecBole's figures when they apply."""
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
    return (
        f"| {name} | {ndcg:.4f} | {row['hr']:.4f} | {row['recall']:.4f} | "
        + " | ".join(cells)
        + " |"
    )
