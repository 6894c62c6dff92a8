"""The popular source: the items with the most positive signal."""

from __future__ import annotations

from dataclasses import dataclass

from likewise.recommend.sources.base import Candidates, Query
from likewise.store import Store

__all__ = ["Popular"]


@dataclass(frozen=True)
class Popular:
    """The store's popularity ranking, summed signal or (`trending`) weighed by age.

    With `new`, the newest other items follow with score 0 when too few items have events
    (a list for a new user); without, only items with positive signal are offered (a blend).
    """

    store: Store
    trending: bool = False
    new: bool = True

    def __call__(self, query: Query) -> Candidates:
        hits = self.store.popular(
            n=query.n, where=query.where, exclude=query.exclude, trending=self.trending
        )
        return Candidates({h.id: h.score for h in hits if self.new or h.score > 0})
