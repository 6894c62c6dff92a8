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
from likewise.recommend.model import Recommended
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
    ranked = {  # as `Ranker._shaped` ranks
        u: sorted(pairs, key=lambda p: (-p[1], p[0]))[:n]
        for u, pairs in zip(chosen, found, strict=True)
    }
    return explained(store, liked, ranked)


def explained(
    store: Store,
    liked: Mapping[str, Sequence[str]],
    ranked: Mapping[str, Sequence[tuple[str, float]]],
) -> dict[str, list[Recommended]]:
    """`reasons.explain` for a page of users at once: each item is `because you liked` the
    liked item (of the user's own) nearest to it, `matches your interests` with none to
    name. One vectors read, one batched product for the page (a user's rows padded to the
    page's longest), and the titles of the liked items named, read once."""
    wanted = {i: None for recent in liked.values() for i in recent}
    wanted.update((i, None) for pairs in ranked.values() for i, _ in pairs)
    found = store.vectors(list(wanted))
    row = {i: k for k, i in enumerate(found)}
    out: dict[str, list[Recommended]] = {}
    named = [u for u in ranked if ranked[u] and any(i in row for i in liked[u])]
    for user in ranked:
        if user not in named:
            out[user] = [Recommended(i, s, "matches your interests") for i, s in ranked[user]]
    if not named:
        return out
    table = np.stack(list(found.values()))
    mine = {u: [i for i in liked[u] if i in row] for u in named}
    long = max(len(mine[u]) for u in named)
    wide = max(len(ranked[u]) for u in named)
    likes = np.zeros((len(named), long), np.int64)
    known = np.zeros((len(named), long), bool)
    items = np.zeros((len(named), wide), np.int64)
    for b, user in enumerate(named):
        likes[b, : len(mine[user])] = [row[i] for i in mine[user]]
        known[b, : len(mine[user])] = True
        items[b, : len(ranked[user])] = [row.get(i, 0) for i, _ in ranked[user]]
    sims = np.matmul(table[items], table[likes].transpose(0, 2, 1))
    sims[~np.broadcast_to(known[:, None, :], sims.shape)] = -np.inf
    nearest = sims.argmax(axis=2)
    because = {
        u: [mine[u][int(j)] for j in nearest[b, : len(ranked[u])]] for b, u in enumerate(named)
    }
    titles = store.titles(list({i for names in because.values() for i in names}))
    for user in named:
        out[user] = [
            Recommended(i, s, f"because you liked {titles.get(name) or name!r}", name)
            for (i, s), name in zip(ranked[user], because[user], strict=True)
        ]
    return out


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
