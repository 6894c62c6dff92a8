"""The content source: the items nearest the user's interest vector."""

from __future__ import annotations

from dataclasses import dataclass

from likewise.recommend.sources.base import Candidates, Query
from likewise.store import Store

__all__ = ["Content"]


@dataclass(frozen=True)
class Content:
    """The store's vector search around `query.vector` (nothing without one)."""

    store: Store

    def __call__(self, query: Query) -> Candidates:
        if query.vector is None:
            return Candidates({})
        hits = self.store.search(query.vector, n=query.n, where=query.where, exclude=query.exclude)
        return Candidates({h.id: h.score for h in hits})
