"""Recommendations from given items or vectors, for no stored user: an anonymous session,
a "more like these, less like those" box, Qdrant's recommend.

The math is pure: the examples' vectors in, one query vector (`average_vector`) or a score
per candidate (`best_score`) out. The Ranker finds the candidates and shapes the list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from likewise.profiles.strategies import Vector

__all__ = ["MAX_EXAMPLES", "SESSION_STRATEGIES", "Examples", "best_scores"]

# average_vector: one search near the positives' mean minus beta times the negatives';
# best_score: each candidate scored by its nearest positive, or minus its nearest negative
# when a negative is nearer; hybrid: the trained blend, as if the positives were a history.
SESSION_STRATEGIES = ("average_vector", "best_score", "hybrid")
MAX_EXAMPLES = 100  # positives plus negatives of one request


@dataclass(frozen=True)
class Examples:
    """What a session gave: the vectors to move towards and away from, the ids among them
    (`liked`: the positive item ids, oldest first, which the reasons name and the trained
    models score; `given`: every id, left out of the list)."""

    positive: Sequence[Vector]
    negative: Sequence[Vector]
    liked: Sequence[str]
    given: Sequence[str]

    def average(self, beta: float) -> Vector:
        """The positives' mean, minus `beta` times the negatives' mean, unit length (the
        dislike step of a profile, at once)."""
        vector = np.mean(np.stack([_unit(v) for v in self.positive]), axis=0)
        if len(self.negative):
            vector = vector - beta * np.mean(np.stack([_unit(v) for v in self.negative]), axis=0)
        return _unit(vector.astype(np.float32))


def best_scores(candidates: Mapping[str, Vector], examples: Examples) -> dict[str, float]:
    """Qdrant's `best_score`: each candidate's similarity to its nearest positive, or minus
    its similarity to its nearest negative when that one is nearer. Similarities are cosines
    mapped onto [0, 1] (`(1 + cos) / 2`) first, so a candidate nearer a negative scores at
    most 0 and sinks below every candidate that is not, whatever the signs of the cosines."""
    if not candidates:
        return {}
    ids = list(candidates)
    matrix = np.stack([_unit(candidates[i]) for i in ids])
    best = (1.0 + (matrix @ np.stack([_unit(v) for v in examples.positive]).T).max(axis=1)) / 2
    if len(examples.negative):
        near = (matrix @ np.stack([_unit(v) for v in examples.negative]).T).max(axis=1)
        worst = (1.0 + near) / 2
        best = np.where(best >= worst, best, -worst)
    return {i: float(s) for i, s in zip(ids, best.tolist(), strict=True)}


def _unit(vector: Vector) -> Vector:
    norm = float(np.linalg.norm(vector))
    return vector if norm == 0.0 else (vector / norm).astype(np.float32)
