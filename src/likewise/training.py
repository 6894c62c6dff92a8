"""`likewise train`: the models of `likewise.retrieval` fit from the event log, the behaviour
space filled, and (with `tune`) the hybrid's weights fit on each user's validation item.

The Personaliser calls :func:`train` and keeps the bundle it returns; the pure fitting lives in
`likewise.retrieval`, the weight search in `likewise.recommend.tuning`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from likewise.config import RECENT_MAX, TrainingConfig
from likewise.errors import ConfigError
from likewise.profiles.strategies import ema
from likewise.recommend.model import POOL, new_id
from likewise.recommend.tuning import Tuned, fit_weights
from likewise.retrieval import ItemItem
from likewise.retrieval.linear import Ease, NextItem, active_items, best
from likewise.retrieval.models import (
    BEHAVIOUR,
    Models,
    behaviour_query,
    behaviour_vectors,
    fit_projection,
)
from likewise.retrieval.neural import NeuralNext
from likewise.retrieval.neural_fit import fit_neural, require
from likewise.store import Store
from likewise.store.base import TEXT, Space

__all__ = ["Histories", "check", "fit", "histories", "stamp", "train_behaviour", "tune"]

log = logging.getLogger(__name__)
Progress = Callable[[int], object]
Histories = dict[str, list[str]]  # user -> positive items, oldest first (repeats moved last)
PUT_BATCH = 5_000


def histories(store: Store, progress: Progress | None = None) -> Histories:
    """Each user's positive items in event-time order (a repeat moves the item last); events
    on items deleted since are left out (the log keeps them)."""
    live = set(store.all_ids())
    timed: dict[str, list[tuple[float, int, str]]] = {}
    order = 0
    for page in store.events():
        for event, signal in page:
            if signal > 0 and event.item_id in live:
                timed.setdefault(event.user_id, []).append((event.timestamp, order, event.item_id))
                order += 1
        if progress:
            progress(len(page))
    out: Histories = {}
    for user, rows in timed.items():
        history: dict[str, None] = {}
        for _, _, item in sorted(rows):
            history.pop(item, None)
            history[item] = None
        out[user] = list(history)
    return out


def check(config: TrainingConfig) -> None:
    """A :class:`ConfigError` when `config` asks for what this install cannot train."""
    if config.neural_epochs:
        require("neural_epochs")


def fit(
    data: Histories, config: TrainingConfig, *, neural: NeuralNext | None = None
) -> tuple[Models, dict[str, Any]]:
    """Every model `data` supports, in memory: (bundle, behaviour layout). The neural model
    is trained when `config.neural_epochs` asks, unless one is given (`tune` trained it).

    The layout holds the next-item model's input and output vectors (`inputs`, `outputs`)
    for the behaviour space, or is empty when there is too little to fit."""
    users = sorted(data)
    sequences = [data[u] for u in users]
    log.info("fitting the models on %d users' histories", len(users))
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    itemknn = ItemItem.fit(sequences)
    seconds["itemknn"] = time.perf_counter() - started
    models = Models(itemknn=itemknn)
    layout: dict[str, Any] = {}
    if len(active_items(sequences, 2)) >= 2 and sum(len(s) > 1 for s in sequences):
        started = time.perf_counter()
        models.ease = Ease.fit(
            sequences, lam=config.ease_lambda, decay=0.9, limit=config.dense_items
        )
        seconds["ease"] = time.perf_counter() - started
        started = time.perf_counter()
        models.next_item = NextItem.fit(
            sequences,
            lam=config.sequence_lambda,
            decay=config.sequence_decay,
            window=config.sequence_window,
            limit=config.dense_items,
        )
        inputs, outputs = models.next_item.reduced(sequences, config.behaviour_rank)
        models.next_item._gram = None  # n^2 doubles: not kept beyond the fit
        layout = {"inputs": inputs, "outputs": outputs}
        seconds["next_item"] = time.perf_counter() - started
    if neural is None and config.neural_epochs:
        neural = fit_neural(
            sequences,
            epochs=config.neural_epochs,
            seconds=config.neural_seconds,
            limit=config.dense_items,
            threads=config.neural_threads,
        )
    if neural is not None:
        seconds["neural"] = neural.info["seconds"]
    models.neural = neural
    known = sum(len(s) for s in sequences)
    log.info("fitted in %s", ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()))
    models.info = {
        "users": len(users),
        "positives": known,
        "items": len(itemknn.items),
        "dense_items": len(models.ease.items) if models.ease else 0,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "neural": neural.info if neural is not None else _no_neural(config),
        "settings": config.model_dump(exclude={"train_every", "reload_seconds"}),
    }
    return models, layout


def _no_neural(config: TrainingConfig) -> dict[str, Any] | None:
    """What `info` says of a neural model that was asked for and could not be fit."""
    if not config.neural_epochs:
        return None
    return {"epochs": 0, "skipped": "fewer than 2 items, or no history of 2 known items"}


def train_behaviour(store: Store, models: Models, layout: Mapping[str, Any], rank: int) -> int:
    """Fill the behaviour space: the model's items from their learned vectors, every other
    item from its content vector through a projection fit on those (kept in `models`).
    Returns how many items got a vector."""
    if not layout or models.next_item is None:
        return 0
    spaces = store.spaces()
    space = spaces.get(BEHAVIOUR)
    if space is None:
        space = Space(BEHAVIOUR, 2 * rank, "dot")
        store.add_space(space)
    elif space.metric != "dot":
        raise ConfigError(
            f"space {BEHAVIOUR!r} exists with metric {space.metric}: `train` keeps that space "
            "(inner product); copy its vectors elsewhere and start a new store"
        )
    items = models.next_item.items
    log.info("placing the items in the %s space", BEHAVIOUR)
    inputs, outputs = _aligned(store, items, layout["inputs"], layout["outputs"], space.dim // 2)
    # A space keeps the dimension it was made with (2 x rank): each half padded or cut to it.
    learned = _fit_halves(behaviour_vectors(inputs, outputs), space.dim)
    text = store.vectors(items, space=TEXT)
    rows = [j for j, i in enumerate(items) if i in text]
    vectors: dict[str, Any] = {items[j]: learned[j] for j in range(len(items))}
    if rows:
        t = np.stack([text[items[j]] for j in rows])
        models.projection = fit_projection(t, learned[rows])
        others = [i for i in store.all_ids() if i not in vectors]
        for start in range(0, len(others), PUT_BATCH):
            batch = others[start : start + PUT_BATCH]
            found = store.vectors(batch, space=TEXT)
            if found:
                ids = list(found)
                projected = np.stack([found[i] for i in ids]) @ models.projection
                vectors.update(zip(ids, projected, strict=True))
    ids = list(vectors)
    for start in range(0, len(ids), PUT_BATCH):
        store.put_vectors(BEHAVIOUR, {i: vectors[i] for i in ids[start : start + PUT_BATCH]})
    return len(ids)


def _aligned(
    store: Store,
    items: Sequence[str],
    inputs: np.ndarray[Any, Any],
    outputs: np.ndarray[Any, Any],
    half: int,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The new input and output vectors turned to agree with the stored ones.

    A reduction's basis is arbitrary (signs, rotations), and profiles made in the old one are
    scored against the new vectors until they are rebuilt. An orthogonal `R` changes no
    prediction (`(U R)(V R)^T = U V^T`); the one that brings the new output vectors closest to
    the stored ones (orthogonal Procrustes) keeps old profiles meaningful meanwhile."""
    rank = outputs.shape[1]
    if rank > half:  # the space is smaller than this rank: keep the strongest directions
        inputs, outputs, rank = inputs[:, :half], outputs[:, :half], half
    old = store.vectors(list(items), space=BEHAVIOUR)
    common = [j for j, i in enumerate(items) if i in old]
    if len(common) < rank:
        return inputs, outputs
    before = np.stack([old[items[j]][half : half + rank] for j in common]).astype(np.float64)
    now = outputs[common].astype(np.float64)
    u, _, vt = np.linalg.svd(now.T @ before)
    turn = (u @ vt).astype(np.float32)
    return inputs @ turn, outputs @ turn


def _fit_halves(learned: np.ndarray[Any, Any], dim: int) -> np.ndarray[Any, Any]:
    half, want = learned.shape[1] // 2, dim // 2
    out = np.zeros((len(learned), dim), np.float32)
    keep = min(half, want)
    out[:, :keep] = learned[:, :keep]
    out[:, want : want + keep] = learned[:, half : half + keep]
    return out


def stamp(models: Models) -> None:
    """A new version id and the time, in `models.info`."""
    models.info["version"] = new_id()
    models.info["trained_at"] = time.time()


TUNE_USERS = 10_000  # validation users the weights are fit on (spread over all users)
SOURCES = ("collaborative", "ease", "sequential", "neural", "behaviour", "content", "popular")


def tune(
    store: Store, data: Histories, config: TrainingConfig, alpha: float, *, n: int = 10
) -> tuple[Tuned, NeuralNext | None]:
    """Hybrid weights fit on each user's validation item: every model refit without each
    user's last positive item, each source asked for that user's candidates as serving asks
    (`POOL * n`), the weights searched for the blend that ranks the held-out items best.

    Also returns the neural model trained here (None unless asked): it is trained once, on
    the histories without their last item, and serves the full histories (the closed-form
    models are refit; the neural one would take as long again)."""
    held: dict[str, str] = {}
    early: Histories = {}
    for user, items in data.items():
        if len(items) >= 3:
            held[user] = items[-1]
            early[user] = items[:-1]
        else:
            early[user] = items
    models, layout = fit(early, config)
    users = sorted(held)
    users = users[:: max(1, len(users) // TUNE_USERS)][:TUNE_USERS]
    extra: dict[str, float] = {}
    if models.ease is not None:  # EASE's penalty, and how much older items count
        sequences = [early[u] for u in sorted(early)]
        fitted = models.ease
        chosen = (-1.0, fitted, fitted.decay)
        for lam in EASE_LAMBDAS:
            ease = (
                fitted
                if lam == fitted.lam
                else Ease.fit(sequences, lam=lam, limit=config.dense_items)
            )
            for decay in EASE_DECAYS:
                ease.decay = decay
                got = sum(_gain(ease.top(early[u][-RECENT_MAX:], n), held[u], n) for u in users)
                if got > chosen[0]:
                    chosen = (got, ease, decay)
        models.ease = chosen[1]
        models.ease.decay = chosen[2]
        extra["ease_lambda"], extra["ease_decay"] = models.ease.lam, chosen[2]
    offers = [_offers(store, models, layout, early, u, POOL * n, alpha) for u in users]
    sources = [s for s in SOURCES if any(o.get(s) for o in offers)]
    if not sources:
        return Tuned({}, 0.0, {}, extra), models.neural
    tuned = fit_weights(offers, [held[u] for u in users], sources, n=n)
    tuned.extra = extra
    return tuned, models.neural


EASE_DECAYS = (1.0, 0.95, 0.9, 0.8)  # the EASE history weights `tune` chooses among
EASE_LAMBDAS = (250.0, 500.0, 1000.0, 2000.0)  # and its penalties


def _gain(ranked: Mapping[str, float], target: str, n: int) -> float:
    """NDCG@n of one held-out item in a ranked list."""
    for rank, item in enumerate(list(ranked)[:n]):
        if item == target:
            return 1.0 / float(np.log2(rank + 2))
    return 0.0


def _offers(
    store: Store,
    models: Models,
    layout: Mapping[str, Any],
    data: Histories,
    user: str,
    n: int,
    alpha: float,
) -> dict[str, dict[str, float]]:
    """What each source would offer `user` with history `data[user]` (no store writes)."""
    history = data[user][-RECENT_MAX:]  # what a profile remembers, as serving sees it
    out: dict[str, dict[str, float]] = {}
    if models.itemknn is not None:
        out["collaborative"] = models.itemknn.top(history, n)
    learned = (("ease", models.ease), ("sequential", models.next_item), ("neural", models.neural))
    for name, model in learned:
        if model is not None:
            out[name] = model.top(history, n)
    if layout and models.next_item is not None:  # as serving: the profile math, the query
        position = models.next_item.position
        stored = behaviour_vectors(layout["inputs"], layout["outputs"])
        known = [stored[position[i]] for i in history if i in position]
        if known:
            query = behaviour_query(_ema(known, alpha))
            scores = (stored @ query).astype(np.float64)
            out["behaviour"] = best(models.next_item.items, scores, history, n, position)
    text = store.vectors(history)
    rows = [text[i] for i in history if i in text]
    if rows:
        hits = store.search(_ema(rows, alpha), n=n, exclude=history)
        out["content"] = {h.id: h.score for h in hits}
    if models.itemknn is not None and models.itemknn.counts is not None:
        counts = models.itemknn.counts.astype(np.float64)
        out["popular"] = best(models.itemknn.items, counts, history, n)
    return out


def _ema(rows: Sequence[np.ndarray[Any, Any]], alpha: float) -> np.ndarray[Any, Any]:
    """The profile math's EMA (`likewise.profiles`) over `rows`, oldest first."""
    out = None
    for row in rows:
        out = ema(out, row, alpha)
    assert out is not None  # at least one row
    return out
