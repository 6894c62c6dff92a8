"""Offline evaluation through the serving code: replay a log with `Engine.record`, hold out
each user's last positive event, and ask `Engine.recommend` for every strategy.

Temporal protocol: a user's history is every event before their last positive one (by time);
that item is the target; the list excludes what they had already seen (as served). Metrics
are averaged over users, with 95% bootstrap intervals.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from likewise.engine import Engine
from likewise.evaluation.metrics import coverage, hit_rate, ndcg, novelty, reciprocal_rank
from likewise.evaluation.threshold import threshold
from likewise.events.model import parse_event
from likewise.events.signals import SignalRules
from likewise.ranking import intra_list_diversity
from likewise.store import Hit

__all__ = [
    "ALIASES",
    "Result",
    "bootstrap",
    "cold_split",
    "evaluate",
    "known_strategies",
    "needs_model",
    "temporal_split",
]

Progress = Callable[[int], object]


@dataclass(frozen=True)
class Result:
    """One strategy's scores at k, with 95% bootstrap intervals and seconds spent."""

    strategy: str
    k: int
    users: int
    hr: float
    hr_ci: tuple[float, float]
    ndcg: float
    ndcg_ci: tuple[float, float]
    mrr: float
    coverage: float
    diversity: float  # intra-list diversity: mean pairwise cosine distance, item vectors
    novelty: float
    seconds: float
    min_score: float | None = None  # with `min_score_loss`: see evaluation/threshold.py
    slots_cut: float | None = None
    hits_kept: float | None = None


def temporal_split(
    events: Iterable[Mapping[str, Any]], rules: SignalRules | None = None
) -> tuple[list[Mapping[str, Any]], dict[str, str]]:
    """(history to replay, {user: held-out item}): each user's last positive event by time
    is the target, and their events from that moment on are left out of the history."""
    rules = rules or SignalRules()
    by_user: dict[str, list[Mapping[str, Any]]] = {}
    for event in events:
        by_user.setdefault(str(event["user_id"]), []).append(event)
    history: list[Mapping[str, Any]] = []
    targets: dict[str, str] = {}
    for user, rows in by_user.items():
        rows = sorted(rows, key=lambda e: float(e["timestamp"]))
        positive = [i for i, e in enumerate(rows) if _signal(rules, e) > 0]
        if len(positive) < 2:  # nothing to learn from, or nothing to hold out
            history.extend(rows)
            continue
        cut = positive[-1]
        targets[user] = str(rows[cut]["item_id"])
        history.extend(rows[:cut])
    history.sort(key=lambda e: float(e["timestamp"]))
    return history, targets


def cold_split(
    events: Iterable[Mapping[str, Any]], *, share: float = 0.1, rules: SignalRules | None = None
) -> tuple[list[Mapping[str, Any]], dict[str, str], set[str]]:
    """The cold-items protocol: (history before the cut, {user: target}, cold items).

    The cut leaves the last `share` of events (by time) as the test period; cold items are
    those first seen in it. A user's target is their first positive event on a cold item;
    everything before the cut is replayed, so collaborative and popular signals know nothing
    of those items and only content can find them."""
    rules = rules or SignalRules()
    ordered = sorted(events, key=lambda e: float(e["timestamp"]))
    cut = ordered[int(len(ordered) * (1 - share))]["timestamp"] if ordered else 0.0
    history = [e for e in ordered if float(e["timestamp"]) < float(cut)]
    known = {str(e["item_id"]) for e in history}
    cold = {str(e["item_id"]) for e in ordered[len(history) :]} - known
    active = {str(e["user_id"]) for e in history}
    targets: dict[str, str] = {}
    for e in ordered[len(history) :]:
        user, item = str(e["user_id"]), str(e["item_id"])
        if item in cold and user in active and user not in targets and _signal(rules, e) > 0:
            targets[user] = item
    return history, targets, cold


def _signal(rules: SignalRules, event: Mapping[str, Any]) -> float:
    return rules.signal(parse_event(event))


# Names the evaluation knows besides the engine's strategies: (strategy, source weights).
ALIASES: dict[str, tuple[str, dict[str, float] | None]] = {
    "ema+dislike": ("dislike", None),  # the EMA of likes minus beta x each dislike
    "itemknn": ("hybrid", {"collaborative": 1.0}),  # the item-kNN source alone
    "ease": ("hybrid", {"ease": 1.0}),  # EASE alone
    "sequential": ("hybrid", {"sequential": 1.0}),  # the next-item model alone
    "neural": ("hybrid", {"neural": 1.0}),  # the neural next-item model (likewise[neural])
    "behaviour": ("hybrid", {"behaviour": 1.0}),  # the behaviour space's search alone
}
# A profile strategy in the learned space: `ema@behaviour` (also dislike, mean, momentum).
LEARNED = "@behaviour"
RELATED = "related"  # the items related to the user's last positive item (Engine.similar)
MODELS = ("hybrid", "itemknn", "ease", "sequential", "neural", "behaviour", RELATED)  # need `train`


def known_strategies(engine_strategies: Sequence[str]) -> tuple[str, ...]:
    """Every name the evaluation scores: the engine's, the aliases, `related`, and each
    profile strategy in the behaviour space."""
    profile = [s for s in ("mean", "ema", "ema+dislike", "momentum", "dislike")]
    return (
        "popular",
        *engine_strategies,
        *ALIASES,
        RELATED,
        *(f"{s}{LEARNED}" for s in profile),
    )


def needs_model(strategies: Sequence[str]) -> bool:
    return any(s in MODELS or s.endswith(LEARNED) for s in strategies)


def evaluate(
    engine: Engine,
    targets: Mapping[str, str],
    strategies: Sequence[str],
    *,
    k: int | Sequence[int] = 10,
    progress: Progress | None = None,
    among: Collection[str] | None = None,
    weights: Mapping[str, float] | None = None,
    diversity: float | None = None,
    min_score_loss: float | None = None,
) -> list[Result]:
    """Ask for max(`k`) items per user and strategy (untracked) and score the target at each
    k (results by strategy, then k); `popular` is the store's popular list without the user's
    seen items, `itemknn` and `ema+dislike` are as in `ALIASES`. With `among`, lists are
    ranked within those items only (the cold-items protocol). `weights` and `diversity`
    tune `hybrid` (as per-request overrides). With `min_score_loss`, each result carries the
    `min_score` that keeps all but that share of its hits (`threshold`)."""
    ks = sorted({k} if isinstance(k, int) else set(k))
    longest = ks[-1]
    out = []
    users = sorted(targets)
    popularity = _popularity(engine, len(users))
    catalog = engine.count()
    outside = [] if among is None else sorted(set(engine.ids()) - set(among))
    for strategy in strategies:
        started = time.perf_counter()
        lists: list[list[str]] = []
        scores: list[list[float]] = []
        for user in users:
            if strategy == "popular":
                seen = engine.seen(user)
                hits = engine.popular(n=longest, exclude=[*seen, *outside])
            elif strategy == RELATED:
                hits = _related(engine, user, longest, outside)
            else:
                name, fixed = ALIASES.get(strategy, (strategy, None))
                name, _, space = name.partition("@")
                name = ALIASES.get(name, (name, None))[0]
                tuned = name == "hybrid" and fixed is None
                rec = engine.recommend(
                    user,
                    n=longest,
                    strategy=name,
                    track=False,
                    weights=fixed or (weights if tuned else None),
                    diversity=diversity if tuned else None,
                    exclude=outside,
                    space=space or "text",
                )
                hits = [Hit(r.id, r.score) for r in rec.items]
            lists.append([h.id for h in hits])
            scores.append([h.score for h in hits])
            if progress:
                progress(1)
        seconds = time.perf_counter() - started
        for at in ks:
            out.append(_score(engine, strategy, at, users, targets, lists, popularity, catalog))
            cut = {}
            if min_score_loss is not None:
                cut = threshold(users, targets, lists, scores, at, min_score_loss)
            out[-1] = replace(out[-1], seconds=seconds, **cut)
    return out


def _related(engine: Engine, user: str, n: int, outside: Sequence[str]) -> list[Hit]:
    """The items related to the user's last positive item, minus what they have seen."""
    recent = engine.profile(user, n=1)["recent_positives"] if n else []
    if not recent:
        return []
    seen = engine.seen(user)
    return engine.similar(recent[-1], n=n, exclude=[*seen, *outside])


def _score(
    engine: Engine,
    strategy: str,
    k: int,
    users: Sequence[str],
    targets: Mapping[str, str],
    lists: Sequence[list[str]],
    popularity: dict[str, float],
    catalog: int,
) -> Result:
    """One strategy's metrics at `k` over each user's list (cut to k)."""
    hits, gains, ranks, spread, novel = [], [], [], [], []
    for user, full in zip(users, lists, strict=True):
        ranked = full[:k]
        hits.append(hit_rate(ranked, targets[user], k))
        gains.append(ndcg(ranked, targets[user], k))
        ranks.append(reciprocal_rank(ranked, targets[user], k))
        found = engine.vectors(ranked)
        rows = [found[i] for i in ranked if i in found]
        spread.append(intra_list_diversity(np.stack(rows)) if rows else 0.0)
        novel.append(novelty(ranked, popularity))
    return Result(
        strategy,
        k,
        len(users),
        _mean(hits),
        bootstrap(hits),
        _mean(gains),
        bootstrap(gains),
        _mean(ranks),
        coverage([full[:k] for full in lists], catalog),
        _mean(spread),
        _mean(novel),
        0.0,
    )


def _popularity(engine: Engine, users: int) -> dict[str, float]:
    """Each item's summed positive signal over the number of users: about the share of users
    who liked it (for novelty)."""
    hits = engine.popular(n=max(1, engine.count()))
    return {h.id: min(1.0, h.score / max(users, 1)) for h in hits if h.score > 0}


def bootstrap(values: Sequence[float], *, rounds: int = 1000, seed: int = 0) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of the mean over `rounds` resamples (seeded)."""
    if not values:
        return 0.0, 0.0
    data = np.asarray(values, dtype=np.float64)
    picks = np.random.default_rng(seed).integers(0, len(data), size=(rounds, len(data)))
    means = data[picks].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
