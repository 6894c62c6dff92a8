"""The exploration source: popular items outside the list, drawn at random per user and day."""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass, replace

from likewise.recommend.sources.base import Candidates, Query, Source

__all__ = ["Exploration"]


@dataclass(frozen=True)
class Exploration:
    """`query.n` items drawn from the `10 n` that `popular` offers, with a seed of (user,
    day): the same page reloads the same way today."""

    popular: Source

    def __call__(self, query: Query) -> Candidates:
        pool = list(self.popular(replace(query, n=10 * query.n)).scores.items())
        day = int(time.time() // 86_400)
        rng = random.Random(hashlib.sha256(f"{query.user_id}:{day}".encode()).digest())
        return Candidates(dict(rng.sample(pool, min(query.n, len(pool)))))
