"""Lists for a page of users at once, for a digest: the profile strategies' lists with one
read of the page's users, one search of all their interest vectors, and one fetch for the
reasons (a `Ranker.recommend` per user reads, searches and fetches once each).

The lists are what `Ranker.recommend(user, strategy=..., exclude=sent)` gives for a profile
strategy in `text` with no context rules, exploration or resting (the caller sends the
other cases through `recommend` one user at a time): the same interest vector, the same
exclusions (the user's seen items and the items sent before), the same ordering and
reasons. The search differs only where the index is approximate: a batch searches each
vector with a list long enough for the page's longest exclusions, and drops them after,
where `search` may mask them out (see `store.embedded.digest`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from likewise.config import REASONS_MAX, ProfileConfig
from likewise.profiles import ProfileState, mean
from likewise.profiles.strategies import Vector
from likewise.recommend.interest import interest
from likewise.recommend.lookup import Lookup
from likewise.recommend.model import Recommended
from likewise.recommend.reasons import explain
from likewise.store import Store
from likewise.store.digest import DigestUser

__all__ = ["BATCHED", "page_lists"]

BATCHED = ("dislike", "ema", "mean", "momentum")  # the strategies a page is searched for


def page_lists(
    store: Store,
    profiles: ProfileConfig,
    users: Mapping[str, DigestUser],
    *,
    n: int,
    strategy: str,
    where: Mapping[str, Any] | None,
) -> dict[str, list[Recommended]]:
    """The lists of the users with an interest vector under `strategy`, each without the
    items they have seen or were sent. The users left out have none (no profile yet, or
    nothing to go on): `recommend` serves them popular items."""
    vectors = _interests(store, profiles, users, strategy)
    chosen = list(vectors)
    if not chosen:
        return {}
    skips = [[*users[u].sent, *users[u].seen] for u in chosen]
    found = store.search_many([vectors[u] for u in chosen], n=n, where=where, excludes=skips)
    liked = {u: _liked(users[u].state) for u in chosen}
    named = list({i: None for recent in liked.values() for i in recent})
    ids = [*{i: None for pairs in found for i, _ in pairs}, *named]
    lookup = _Page(store.vectors(ids), store.titles(named))
    out = {}
    for user, pairs in zip(chosen, found, strict=True):
        ranked = sorted(pairs, key=lambda p: (-p[1], p[0]))[:n]  # as `Ranker._shaped` ranks
        out[user] = explain(liked[user], ranked, lookup)
    return out


class _Page(Lookup):
    """What `explain` reads for a page: the vectors of every listed and liked item and the
    titles of the liked ones (which alone a reason names), in two calls, not a `Fetched`
    per item."""

    def __init__(self, vectors: Mapping[str, Vector], titles: Mapping[str, str]) -> None:
        super().__init__({})
        self._vectors = dict(vectors)
        self._titles = titles

    def titles(self, ids: Sequence[str]) -> dict[str, str]:
        return {i: t for i in ids if (t := self._titles.get(i)) is not None}


def _liked(state: ProfileState | None) -> Sequence[str]:
    return () if state is None else state.recent[-REASONS_MAX:]


def _interests(
    store: Store, profiles: ProfileConfig, users: Mapping[str, DigestUser], strategy: str
) -> dict[str, Vector]:
    """Each user's interest vector under `strategy` (left out: none to go on). `mean` reads
    the page's recent items' vectors in one call; `momentum` reads each user's snapshots."""
    states = {u: r.state for u, r in users.items() if r.state is not None}
    out: dict[str, Vector | None] = {}
    if strategy == "mean":
        recent = {u: s.recent[-profiles.mean_n :] for u, s in states.items()}
        found = store.vectors(list({i for ids in recent.values() for i in ids}))
        for user, ids in recent.items():
            rows = [found[i] for i in ids if i in found]
            out[user] = mean(np.stack(rows)) if rows else states[user].seed
    else:
        for user, state in states.items():
            out[user] = interest(state, strategy, store, profiles)
    return {u: v for u, v in out.items() if v is not None}
