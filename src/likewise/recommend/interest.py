"""The profile strategies: which interest vector a user's list is searched around."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from likewise.config import ProfileConfig
from likewise.profiles import ProfileState, mean, momentum
from likewise.profiles.strategies import Vector
from likewise.store import Store

__all__ = ["INTERESTS", "Interest", "interest"]


class Interest(Protocol):
    """A profile strategy: the vector to recommend from (None: nothing to go on yet)."""

    def __call__(
        self, state: ProfileState, store: Store, config: ProfileConfig
    ) -> Vector | None: ...


def dislike(state: ProfileState, store: Store, config: ProfileConfig) -> Vector | None:
    """The EMA of positive items, turned away from disliked ones (the profile's own)."""
    return state.interest


def ema(state: ProfileState, store: Store, config: ProfileConfig) -> Vector | None:
    """The EMA of positive items only."""
    return state.ema


def mean_of_recent(state: ProfileState, store: Store, config: ProfileConfig) -> Vector | None:
    """The mean of the last `mean_n` positive items (one vector read), else the seed."""
    ids = state.recent[-config.mean_n :]
    found = store.vectors(ids, space=state.space)
    rows = [found[i] for i in ids if i in found]
    return mean(np.stack(rows)) if rows else state.seed


def projected(state: ProfileState, store: Store, config: ProfileConfig) -> Vector | None:
    """Where the last `history` snapshots drift to (one read), else the profile's own."""
    snaps = store.snapshots(state.user_id, config.history, space=state.space)
    ahead = momentum(np.stack([s.vector for s in snaps])) if snaps else None
    return state.interest if ahead is None else ahead


INTERESTS: dict[str, Interest] = {
    "dislike": dislike,
    "ema": ema,
    "mean": mean_of_recent,
    "momentum": projected,
}


def interest(
    state: ProfileState, strategy: str, store: Store, config: ProfileConfig
) -> Vector | None:
    """The vector `strategy` recommends from; `hybrid` (or any other name) searches around
    the profile's own interest vector, as `dislike` does."""
    return INTERESTS.get(strategy, dislike)(state, store, config)
