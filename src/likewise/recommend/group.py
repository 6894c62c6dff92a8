"""Lists for a group (a household, friends watching together): the pure scoring.

Each candidate is scored for each member (the cosine of the member's interest vector and the
item's vector; the inner product in a `dot` space such as `behaviour`), then the members'
scores are aggregated by one of three strategies, the classic aggregations of group
recommendation (Masthoff, "Group recommender systems:
aggregation, satisfaction and group attributes", Recommender Systems Handbook, 2nd ed., 2015):

- `average`: the mean of the members' scores (for cosine, the same ranking as the cosine to
  the sum of the members' unit interest vectors: what the group likes on the whole);
- `least_misery`: the lowest member score, ties broken by the mean (nobody hates the pick);
- `fair`: the list is built one item at a time and each turn goes to the member served least
  so far, who gets their best remaining item. Masthoff's "fairness" strategy lets members
  take turns; giving the turn to the least-served member instead of the next in line is the
  balancing of Kaya, Bridge and Tintarev ("Ensuring fairness in group recommendations by
  using rank-sensitive balancing of relevance", RecSys 2020). A member's relevance is their
  score scaled to [0, 1] over the candidates (their worst 0, their best 1), so a member whose
  cosines run low overall is not served forever; "served" is the sum of that relevance over
  the items picked so far. Ties go to the member named first.

Every item also names the members it is for: those whose score for it is above the group's
median score for it, or, when none is (the members' scores tie at the top), those tied at the
top; never empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from likewise.errors import InvalidInput

__all__ = [
    "GROUP_STRATEGIES",
    "MAX_MEMBERS",
    "Pick",
    "check_group_strategy",
    "for_whom",
    "member_scores",
    "rank_group",
    "reason",
]

GROUP_STRATEGIES = ("average", "least_misery", "fair")
MAX_MEMBERS = 16  # a group list is one search per member: a crowd is a segment, not a group

Matrix = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class Pick:
    """One item of a group's list: its index among the candidates, the strategy's score, and
    the positions (in the group) of the members it is for."""

    index: int
    score: float
    members: tuple[int, ...]


def check_group_strategy(name: object) -> str:
    """A known group strategy, or InvalidInput naming `strategy`."""
    if not isinstance(name, str) or name not in GROUP_STRATEGIES:
        known = ", ".join(GROUP_STRATEGIES)
        raise InvalidInput(f"unknown {name!r}; known: {known}", field="strategy")
    return name


def member_scores(
    members: np.ndarray[Any, Any], items: np.ndarray[Any, Any], metric: str = "cosine"
) -> Matrix:
    """Each member's score for each item, shape (members, items), as the space's search
    scores: the cosine, the inner product (`dot`: the behaviour space, where an item's
    norm carries what the model learned), or minus the distance (`euclidean`)."""
    m = np.asarray(members, dtype=np.float64)
    v = np.asarray(items, dtype=np.float64)
    if metric == "euclidean":
        squared = (m * m).sum(1)[:, None] - 2 * m @ v.T + (v * v).sum(1)[None, :]
        distances: Matrix = -np.sqrt(np.maximum(squared, 0.0))
        return distances
    if metric != "dot":
        m, v = _unit(m), _unit(v)
    scores: Matrix = m @ v.T
    return scores


def rank_group(scores: Matrix, n: int, strategy: str) -> list[Pick]:
    """The best `n` candidates for the group under `strategy`, from the members' scores
    (shape (members, candidates)), best first."""
    check_group_strategy(strategy)
    count = scores.shape[1]
    if count == 0 or n <= 0:
        return []
    mean = scores.mean(axis=0)
    if strategy == "fair":
        order, values = _fair(scores, min(n, count), mean)
    else:
        key = mean if strategy == "average" else scores.min(axis=0)
        # lexsort sorts by its last key first: the strategy's score, then the mean, then the
        # candidate's place (the order the sources gave), all best first.
        order = list(np.lexsort((np.arange(count), -mean, -key))[:n])
        values = [float(key[j]) for j in order]
    return [Pick(int(j), v, for_whom(scores[:, j])) for j, v in zip(order, values, strict=True)]


def for_whom(column: np.ndarray[Any, Any]) -> tuple[int, ...]:
    """The members whose score is above the group's median for this item; those tied at the
    top when none is."""
    above = np.flatnonzero(column > np.median(column))
    if not len(above):
        above = np.flatnonzero(column >= column.max())
    return tuple(int(k) for k in above)


def _fair(scores: Matrix, n: int, mean: Matrix) -> tuple[list[int], list[float]]:
    """The least-served member's turn, `n` times (see the module's docstring); each pick is
    scored by the group's mean, so scores need not fall down the list."""
    low = scores.min(axis=1, keepdims=True)
    span = scores.max(axis=1, keepdims=True) - low
    relevance = np.where(span > 0, (scores - low) / np.where(span > 0, span, 1.0), 1.0)
    served = np.zeros(scores.shape[0])
    left = np.ones(scores.shape[1], dtype=bool)
    order: list[int] = []
    for _ in range(n):
        turn = int(np.argmin(served))  # the first of the least served
        # The member's best remaining item; ties by the group's mean, then the sources' order.
        best = np.lexsort((np.arange(len(mean)), -mean, -relevance[turn]))
        pick = int(next(j for j in best if left[j]))
        left[pick] = False
        served += relevance[:, pick]
        order.append(pick)
    return order, [float(mean[j]) for j in order]


def _unit(rows: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.asarray(rows / np.where(norms > 0, norms, 1.0))


def reason(names: Sequence[str]) -> str:
    """The reason a group's item shows: who it is for."""
    return "for " + ", ".join(names)
