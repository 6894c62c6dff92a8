"""Blended spaces: related items and "for you" lists scored in several vector spaces at once
(`{"text": 0.6, "image": 0.4}`: what an item says and what it looks like).

Each space offers its nearest `POOL * n` candidates; every candidate of the union is then
scored in every weighted space by its cosine similarity to that space's query vector, and
the blend is the weighted sum, the weights scaled to sum to 1 (so `{"text": 3, "image": 2}`
is `{"text": 0.6, "image": 0.4}`, and a blend of one space is that space's cosines). An item
with no vector in a space (a product without a photo) scores 0 there: it can still rise on
its other spaces, but never above an item as near that has both.

A user's query vector in `text` is their stored profile's. In another space it is made when
asked, from their last `REPLAYED` events and those items' vectors in that space, by the same
profile math `record` applies (`profiles.state.apply`: the EMA of positives, dislikes turned
away from, snapshots for `momentum`). Made on demand rather than stored because profiles are
written by `record` in the same transaction as the events, for `text` and `behaviour` only:
keeping one per space of one's own would make every event pay for every space, and a space
added later would need its profiles rebuilt. The finished list is kept in the Ranker's cache
of hot results (dropped when the user records an event), so a repeated request does not
replay again; an uncached one reads the events once and each space's vectors once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from likewise.config import ProfileConfig
from likewise.errors import InvalidInput
from likewise.profiles import ProfileState, mean, momentum
from likewise.profiles.state import Step, apply
from likewise.profiles.strategies import Vector
from likewise.retrieval.models import BEHAVIOUR, behaviour_query
from likewise.store import TEXT, Space, Store

__all__ = [
    "REPLAYED",
    "blended",
    "check_spaces",
    "checked_blend",
    "parse_spaces",
    "query_of",
    "taste",
    "tastes",
]

REPLAYED = 1000  # a user's newest events their vector in a space other than text is made of
FIELD = "spaces"


def parse_spaces(text: str | None) -> dict[str, float] | None:
    """`text:0.6,image:0.4` (a URL query's and the CLI's form) as weights by space; None
    for None. Only the form is checked here (InvalidInput naming `spaces`); the names and
    weights are the Engine's to check, as for a mapping given in Python."""
    if text is None:
        return None
    out: dict[str, float] = {}
    for part in text.split(","):
        name, colon, weight = part.partition(":")
        name = name.strip()
        if not colon or not name or name in out:
            raise InvalidInput(
                "must be SPACE:WEIGHT pairs, each space once, e.g. text:0.6,image:0.4",
                field=FIELD,
            )
        try:
            out[name] = float(weight)
        except ValueError:
            raise InvalidInput(f"the weight of {name!r} is not a number", field=FIELD) from None
    return out


def check_spaces(spaces: object, known: Mapping[str, Space]) -> dict[str, float]:
    """The weights of a blend, scaled to sum to 1, those of 0 left out: a mapping of known
    space names to finite weights of 0 or more, not all 0. InvalidInput naming `spaces`."""
    if not isinstance(spaces, Mapping) or not spaces:
        raise InvalidInput("must map space names to weights, e.g. {'text': 0.6}", field=FIELD)
    for name, weight in spaces.items():
        if not isinstance(name, str) or name not in known:
            names = ", ".join(known)
            raise InvalidInput(f"unknown space {name!r}; known: {names}", field=FIELD)
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise InvalidInput(f"the weight of {name!r} must be a number", field=FIELD)
        try:
            finite = math.isfinite(float(weight))
        except OverflowError:  # an int past float's range
            finite = False
        if not finite or weight < 0:
            raise InvalidInput(f"the weight of {name!r} must be finite and 0 or more", field=FIELD)
    total = float(sum(spaces.values()))
    if not total > 0 or not math.isfinite(total):
        raise InvalidInput("the weights must not all be 0", field=FIELD)
    return {name: float(w) / total for name, w in spaces.items() if w > 0}


def checked_blend(
    strategy: str, space: str, spaces: Mapping[str, float] | None, known: Mapping[str, Space]
) -> dict[str, float]:
    """The checked weights of a "for you" blend: `spaces`, or a `space` other than text and
    behaviour as a blend of it alone; for the profile strategies only, and not beside a
    `space` (InvalidInput naming `space` or `spaces`)."""
    field = "spaces" if spaces is not None else "space"
    if spaces is None:
        if space not in known:
            names = ", ".join(known)
            raise InvalidInput(f"unknown space {space!r}; known: {names}", field="space")
        spaces = {space: 1.0}
    elif space != TEXT:
        raise InvalidInput("give a space or spaces, not both", field="spaces")
    if strategy in ("hybrid", "popular"):
        raise InvalidInput(f"applies to the profile strategies, not {strategy}", field=field)
    return check_spaces(spaces, known)


def query_of(space: str, vector: Vector) -> Vector:
    """The vector a space is searched with: an item's or a profile's own, but in `behaviour`
    its input half moved onto the output half (what people go on to like)."""
    return behaviour_query(vector) if space == BEHAVIOUR else vector


def blended(
    store: Store,
    queries: Mapping[str, Vector],
    weights: Mapping[str, float],
    *,
    n: int,
    where: Mapping[str, Any] | None = None,
    exclude: Sequence[str] = (),
) -> dict[str, float]:
    """The union of each space's `n` nearest items to its query (passing `where`, minus
    `exclude`), each scored by the weighted sum of its cosines in every space of `queries`
    (0 in a space it has no vector in), best first. One search and one vector read per
    space."""
    pool: dict[str, None] = {}
    for space, vector in queries.items():
        hits = store.search(vector, n=n, where=where, exclude=exclude, space=space)
        pool.update(dict.fromkeys(h.id for h in hits))
    ids = list(pool)
    total = np.zeros(len(ids), dtype=np.float64)
    for space, vector in queries.items():
        found = store.vectors(ids, space=space)
        total += weights[space] * _cosines(vector, [found.get(i) for i in ids])
    scores = {i: float(s) for i, s in zip(ids, total.tolist(), strict=True)}
    return dict(sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])))


def _cosines(query: Vector, rows: Sequence[Vector | None]) -> np.ndarray[Any, Any]:
    """The cosine of each row with `query`; 0 for a missing row or one of no length."""
    out = np.zeros(len(rows), dtype=np.float64)
    unit = query.astype(np.float64)
    size = float(np.linalg.norm(unit))
    if size == 0.0:
        return out
    unit /= size
    for k, row in enumerate(rows):
        if row is not None:
            norm = float(np.linalg.norm(row))
            out[k] = 0.0 if norm == 0.0 else float(row.astype(np.float64) @ unit) / norm
    return out


def tastes(
    store: Store,
    state: ProfileState,
    strategy: str,
    vector: Vector | None,
    spaces: Mapping[str, float],
    config: ProfileConfig,
) -> dict[str, Vector]:
    """A user's query vector in each space of a blend that they have one in: their stored
    profile's in `text` (`vector`, the strategy's), made from their events in any other."""
    out = {}
    for space in spaces:
        found = vector if space == TEXT else taste(store, state.user_id, space, strategy, config)
        if found is not None:
            out[space] = query_of(space, found)
    return out


def taste(
    store: Store, user_id: str, space: str, strategy: str, config: ProfileConfig
) -> Vector | None:
    """A user's query vector in `space` under a profile `strategy`, made from their last
    `REPLAYED` events (oldest first) and those items' vectors there (see the module's
    docstring); None when none of their items has a vector in it. `dislike` (and `hybrid`)
    is the interest vector, `ema` the EMA of positives, `mean` the mean of the last `mean_n`
    positive items, `momentum` where the replay's snapshots drift to."""
    rows = store.user_events(user_id, limit=REPLAYED)
    events = [e for _, e in reversed(rows)]
    found = store.vectors(list({e.item_id: None for e in events}), space=space)
    rules = config.signal_rules()
    steps = []
    for event in events:
        if event.item_id in found:
            try:
                signal = rules.signal(event)
            except InvalidInput:  # a type the settings no longer know: as a rebuild would
                continue
            steps.append(Step(event.item_id, found[event.item_id], signal, event.timestamp))
    state, snaps = apply(ProfileState.seeded(user_id, None, space=space), steps, config)
    if strategy == "ema":
        return state.ema
    if strategy == "mean":
        recent = [found[i] for i in state.recent[-config.mean_n :]]
        return mean(np.stack(recent)) if recent else None
    if strategy == "momentum" and len(snaps) >= 2:
        return momentum(np.stack([s.vector for s in snaps[-config.history :]]))
    return state.interest
