"""RecBole's ML-1M "general recommendation" protocol, to check this harness against published
numbers before any claim rests on it.

RecBole's settings: interactions with rating >= 3 are positives (implicit feedback); users and
items with fewer than 10 of them are dropped, repeatedly, until none are left (10-core); each
user's interactions are shuffled and split 8:1:1 into train, validation and test (validation
and test get `int(0.1 * n)` each); every item is ranked, the user's train and validation
items left out, and NDCG@k counts every test item as relevant (ideal DCG over
`min(len(test), k)` hits). RecBole reports NDCG@10 0.101 for most-popular and 0.239 for
item-kNN (its test figure, k = 250, shrink 1.2, in RecBole's ML-1M hyper-parameter log) and
0.287 for EASE. RecBole's validation pass masks the train items only and counts the
validation items as relevant; `score_random` reports that figure too for the matrix
strategies.

RecBole 1.2.1 itself, run on the same packaged data with these settings
(`bench/recbole_reference.py`), gives item-kNN's published figures exactly (test 0.2389,
validation 0.1982) but most-popular 0.1170 on test (0.1028 on validation), not the published
0.101: `RECBOLE_RUN` keeps those figures, and the report compares with both. Our split is
seeded differently from RecBole's; over eight seeds our most-popular's test NDCG@10 spans
0.1147-0.1222, so a few per cent either way is the split, not the harness.

The train split is recorded through `Engine.record_many` as `like` events; `popular` ranks by
the store's popularity and `itemknn` by the model `Engine.train` fits, scored as
`ItemItem.scores` serves it (each candidate's k nearest items the user has, unweighted by
recency here, as RecBole's item-kNN), computed as matrices for all users at once.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from likewise.engine import Engine

__all__ = [
    "ANCHORS",
    "EASE_NDCG",
    "RANDOM_STRATEGIES",
    "RECBOLE_RUN",
    "SEQUENTIAL_ANCHORS",
    "RandomSplit",
    "core_filter",
    "core_rows",
    "ndcg_at",
    "random_split",
    "score_random",
    "sequential_split",
]

# Scored as matrices for all users at once; the rest through Engine.recommend per user.
MATRIX_STRATEGIES = ("popular", "itemknn", "ease")
RANDOM_STRATEGIES = (
    *MATRIX_STRATEGIES,
    "mean",
    "ema",
    "momentum",
    "sequential",
    "neural",
    "behaviour",
    "ema@behaviour",
    "hybrid",
)
# RecBole's published NDCG@10 on this protocol, and how close a reproduction must come.
ANCHORS = {"popular": (0.101, 0.05), "itemknn": (0.239, 0.15)}
# RecBole 1.2.1 run here on the same data and settings: (test, validation) NDCG@10.
RECBOLE_RUN = {"popular": (0.1170, 0.1028), "itemknn": (0.2389, 0.1982)}
EASE_LAMBDA = 1000.0  # RecBole's EASE setting on ML-1M
# RecBole's best published NDCG@10 among general models on this protocol, beside the hybrid.
EASE_NDCG = 0.287
# RecBole's published HR@10 on its ML-1M sequential benchmark (leave-last-out, full ranking).
SEQUENTIAL_ANCHORS = {"SASRec": 0.2468, "GRU4Rec": 0.2776, "RepeatNet": 0.2844}


def core_rows(
    ratings: Iterable[Mapping[str, Any]], *, min_rating: float = 3.0, core: int = 10
) -> list[Mapping[str, Any]]:
    """Ratings of at least `min_rating` (the first per user and item), reduced to the 10-core:
    repeated until every user and item has at least `core`."""
    first: dict[tuple[str, str], Mapping[str, Any]] = {}
    for r in ratings:
        if float(r.get("value") or 0) >= min_rating:
            first.setdefault((str(r["user_id"]), str(r["item_id"])), r)
    rows = list(first.items())
    while True:
        users: dict[str, int] = {}
        items: dict[str, int] = {}
        for (user, item), _ in rows:
            users[user] = users.get(user, 0) + 1
            items[item] = items.get(item, 0) + 1
        kept = [(key, r) for key, r in rows if users[key[0]] >= core and items[key[1]] >= core]
        if len(kept) == len(rows):
            return [r for _, r in kept]
        rows = kept


def core_filter(
    ratings: Iterable[Mapping[str, Any]], *, min_rating: float = 3.0, core: int = 10
) -> list[tuple[str, str]]:
    """The (user, item) pairs of :func:`core_rows`."""
    return [
        (str(r["user_id"]), str(r["item_id"]))
        for r in core_rows(ratings, min_rating=min_rating, core=core)
    ]


def sequential_split(
    rows: Iterable[Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """RecBole's sequential setting: each user's interactions in time order, the last one held
    out, every earlier one replayed as a `like` (history, {user: held-out item})."""
    by_user: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        by_user.setdefault(str(r["user_id"]), []).append(r)
    history: list[dict[str, Any]] = []
    targets: dict[str, str] = {}
    for user, seq in by_user.items():
        seq = sorted(seq, key=lambda r: (float(r["timestamp"]), str(r["item_id"])))
        targets[user] = str(seq[-1]["item_id"])
        history += [
            {
                "user_id": user,
                "item_id": str(r["item_id"]),
                "type": "like",
                "timestamp": float(r["timestamp"]),
            }
            for r in seq[:-1]
        ]
    history.sort(key=lambda e: e["timestamp"])
    return history, targets


@dataclass(frozen=True)
class RandomSplit:
    train: dict[str, list[str]]
    valid: dict[str, list[str]]
    test: dict[str, list[str]]


def random_split(pairs: Sequence[tuple[str, str]], *, seed: int = 2020) -> RandomSplit:
    """Each user's items shuffled (seeded) and split 8:1:1 as RecBole splits them."""
    by_user: dict[str, list[str]] = {}
    for user, item in pairs:
        by_user.setdefault(user, []).append(item)
    rng = random.Random(seed)
    train, valid, test = {}, {}, {}
    for user in sorted(by_user):
        items = by_user[user][:]
        rng.shuffle(items)
        tenth = int(0.1 * len(items))
        cut = len(items) - 2 * tenth
        train[user], valid[user], test[user] = (
            items[:cut],
            items[cut : cut + tenth],
            items[cut + tenth :],
        )
    return RandomSplit(train, valid, test)


def ndcg_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """NDCG@k with every item of `relevant` a hit (RecBole's definition)."""
    dcg = sum(1.0 / math.log2(r + 2) for r, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(r + 2) for r in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def score_random(
    engine: Engine,
    split: RandomSplit,
    strategies: Sequence[str],
    *,
    k: int = 10,
    mask_valid: bool = True,
    progress: Callable[[int], object] | None = None,
) -> dict[str, dict[str, float]]:
    """NDCG@k, HR@k (any test item in the list) and Recall@k per strategy, averaged over the
    users with test items. `engine` holds the catalog and the recorded train split. Train
    items are never ranked, validation items not either with `mask_valid` (RecBole 1.x).

    `popular` and `itemknn` are scored as matrices for all users at once, and also on the
    validation split (`valid_ndcg`: train items masked, validation items relevant, as RecBole
    scores its validation). Every other strategy is asked of `Engine.recommend` per user, the
    validation items excluded (`progress` counts those users)."""
    from likewise.evaluation.replay import ALIASES

    items = engine.ids()
    column = {item: j for j, item in enumerate(items)}
    users = [u for u in sorted(split.test) if split.test[u]]
    history = _matrix(users, [split.train[u] for u in users], column)
    hidden = history
    if mask_valid:
        hidden = history + _matrix(users, [split.valid[u] for u in users], column)
    out: dict[str, dict[str, float]] = {}
    for strategy in strategies:
        extra: dict[str, float] = {}
        if strategy in MATRIX_STRATEGIES:
            scores = _scores(engine, strategy, history, items, column)
            valid = scores.copy()
            valid[history.nonzero()] = -np.inf
            extra["valid_ndcg"] = float(
                np.mean(
                    [
                        ndcg_at([items[j] for j in top], set(split.valid[u]), k)
                        for u, top in zip(users, _top(valid, k), strict=True)
                    ]
                )
            )
            scores[hidden.nonzero()] = -np.inf
            lists = [[items[j] for j in top] for top in _top(scores, k)]
        else:
            name, weights = ALIASES.get(strategy, (strategy, None))
            name, _, space = name.partition("@")
            lists = []
            for user in users:
                rec = engine.recommend(
                    user,
                    n=k,
                    strategy=name,
                    track=False,
                    weights=weights,
                    exclude=split.valid[user] if mask_valid else (),
                    space=space or "text",
                )
                lists.append([r.id for r in rec.items])
                if progress is not None:
                    progress(1)
        ndcgs, hits, recalls = [], [], []
        for ranked, user in zip(lists, users, strict=True):
            relevant = set(split.test[user])
            found = len(relevant & set(ranked))
            ndcgs.append(ndcg_at(ranked, relevant, k))
            hits.append(1.0 if found else 0.0)
            recalls.append(found / len(relevant))
        out[strategy] = {
            "ndcg": float(np.mean(ndcgs)),
            "hr": float(np.mean(hits)),
            "recall": float(np.mean(recalls)),
            "users": float(len(users)),
            **extra,
        }
    return out


def _top(scores: np.ndarray[Any, np.dtype[np.float64]], k: int) -> np.ndarray[Any, Any]:
    """Each row's k best columns, best first."""
    return np.argsort(-scores, axis=1)[:, :k]


def _matrix(
    users: Sequence[str], rows: Sequence[Sequence[str]], column: Mapping[str, int]
) -> sp.csr_matrix:
    data = [(r, column[i]) for r, row in enumerate(rows) for i in row if i in column]
    r, c = zip(*data, strict=True) if data else ((), ())
    return sp.csr_matrix(
        (np.ones(len(r), dtype=np.float32), (r, c)), shape=(len(users), len(column))
    )


def _scores(
    engine: Engine,
    strategy: str,
    history: sp.csr_matrix,
    items: Sequence[str],
    column: Mapping[str, int],
) -> np.ndarray[Any, np.dtype[np.float64]]:
    if strategy == "popular":
        counts = np.zeros(len(items))
        for hit in engine.popular(n=len(items)):
            counts[column[hit.id]] = hit.score
        return np.tile(counts, (history.shape[0], 1))
    if strategy == "ease":
        from likewise.retrieval.linear import Ease

        rows = [
            [items[int(j)] for j in history.indices[a:b]]
            for a, b in zip(history.indptr, history.indptr[1:], strict=False)
        ]
        ease = Ease.fit(rows, lam=EASE_LAMBDA)
        order = np.array([column[i] for i in ease.items])
        full = np.zeros((len(items), len(items)), np.float32)
        full[np.ix_(order, order)] = ease.matrix
        return np.asarray(history @ full, dtype=np.float64)
    if strategy == "itemknn":
        model = engine.collaborative()
        if model is None:
            raise ValueError("itemknn needs a trained model (Engine.train)")
        order = np.array([column[i] for i in model.items])
        move = sp.csr_matrix(  # the model's item order -> the catalog's columns
            (np.ones(len(order), dtype=np.float32), (np.arange(len(order)), order)),
            shape=(len(order), len(items)),
        )
        full = (move.T @ model.matrix() @ move).T  # row i: the items that have i as neighbour
        return np.asarray((history @ full).todense(), dtype=np.float64)
    raise ValueError(f"{strategy!r} is not one of {', '.join(MATRIX_STRATEGIES)}")
