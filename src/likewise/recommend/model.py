"""What a "for you" request returns, and the checks of what it asks for."""

from __future__ import annotations

import os
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from likewise.errors import InvalidInput
from likewise.filters import number
from likewise.profiles import STRATEGIES

__all__ = [
    "POOL",
    "RECOMMENDERS",
    "Recommendation",
    "Recommended",
    "Tuning",
    "check_diversity",
    "check_strategy",
    "check_weights",
    "new_id",
]

# The profile strategies, the blend of sources, and the most popular items (what a user with
# nothing to go on gets, which a response names so).
RECOMMENDERS = (*STRATEGIES, "hybrid", "popular")
POOL = 3  # candidates per slot each source offers the blend (and MMR)


_ids = random.Random()  # seeded from the OS; reseeded in a forked child (see below)
os.register_at_fork(after_in_child=_ids.seed)


def new_id() -> str:
    """128 random bits as 32 hex digits, like `uuid4().hex`. Not for secrets: `uuid4` reads
    os.urandom, which releases the GIL on every call, and on a busy server the impression
    writer thread then holds the request up for a switch interval."""
    return f"{_ids.getrandbits(128):032x}"


@dataclass(frozen=True)
class Recommended:
    """One recommended item; `because` is the liked item that explains it, if any; in a
    group's list, `members` are the members it is for."""

    id: str
    score: float
    reason: str
    because: str | None = None
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class Recommendation:
    """A ranked list for a user, with the strategy that made it and an id to track it by."""

    user_id: str
    strategy: str
    items: list[Recommended]
    id: str = field(default_factory=lambda: new_id())
    cached: bool = False  # served from the cache of hot results (a new id all the same)
    variant: str | None = None  # EXPERIMENT:VARIANT when an experiment chose how to recommend

    offset: int = 0  # the list starts after this many better items (paging)
    users: tuple[str, ...] = ()  # a group's list: its members (`Engine.recommend_group`)

    def as_dict(self) -> dict[str, Any]:
        """The one shape of a recommendation, in HTTP, the CLI's `--json` and clients: the
        id to send back with events as `recommendation_id`, and each item's 1-based
        `position` in the whole ranking (after `offset`). A group's list adds `users` (the
        members) and each item's `for` (the members it is for); other lists are unchanged."""
        out: dict[str, Any] = {
            "recommendation_id": self.id,
            "user_id": self.user_id or None,  # None: a session's list, for no stored user
            "strategy": self.strategy,
            "variant": self.variant,
            "cached": self.cached,
            "items": [
                {
                    "id": r.id,
                    "score": r.score,
                    "position": k,
                    "reason": r.reason,
                    "because": r.because,
                }
                for k, r in enumerate(self.items, start=self.offset + 1)
            ],
        }
        if self.users:
            out["users"] = list(self.users)
            for item, r in zip(out["items"], self.items, strict=True):
                item["for"] = list(r.members)
        return out


@dataclass(frozen=True)
class Tuning:
    """How `hybrid` blends and diversifies: from settings, or given with one request."""

    weights: Mapping[str, float]
    diversity: float
    fill: bool = False  # fill a short list from content (the tuned or default weights)


def check_weights(weights: Mapping[str, float], known: Collection[str]) -> dict[str, float]:
    """Blend weights by source name, or InvalidInput naming `weights` and the reason.

    Args:
        weights: A weight >= 0 per source name.
        known: The names of the sources the hybrid blends, in the order the error lists them.
    """
    if not isinstance(weights, Mapping):
        raise InvalidInput("must be an object of source: weight", field="weights")
    out = {}
    for name, value in weights.items():
        if name not in known:
            listed = ", ".join(known)
            raise InvalidInput(f"unknown source {name!r}; known: {listed}", field="weights")
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise InvalidInput(f"{name}: must be a number >= 0", field=f"weights.{name}")
        weight = number(value)  # None: infinite, or an integer no float holds (10**400)
        if weight is None:
            raise InvalidInput(f"{name}: must be finite", field=f"weights.{name}")
        out[name] = weight
    if not any(out.values()):
        raise InvalidInput("give at least one source a weight above 0", field="weights")
    return out


def check_diversity(value: float) -> float:
    """A diversity within [0, 1], or InvalidInput naming `diversity`."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidInput("must be a number within [0, 1]", field="diversity")
    return float(value)


def check_strategy(name: str) -> str:
    """A known strategy name, or InvalidInput naming `strategy`."""
    if name not in RECOMMENDERS:
        raise InvalidInput(f"unknown {name!r}; known: {', '.join(RECOMMENDERS)}", field="strategy")
    return name
