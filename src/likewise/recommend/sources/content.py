"""The content source: the items nearest the user's interest vector."""

from __future__ import annotations

from dataclasses import dataclass

from likewise.recommend.sources.base import Candidates, Query
from likewise.store import Store

__all__ = ["Content"]


@dataclass(frozen=True)
class Content:
    """The store's vector search around `query.vector` (nothing without one); with
    `query.also`, the search and the fetch of its hits and of those items in one read."""

    store: Store

    def __call__(self, query: Query) -> Candidates:
        if query.vector is None:
            return Candidates({})
        store, vector, where, skip = self.store, query.vector, query.where, query.exclude
        if query.also is None:
            hits = store.search(vector, n=query.n, where=where, exclude=skip)
            return Candidates({h.id: h.score for h in hits})
        near = store.nearest(vector, n=query.n, where=where, exclude=skip, also=query.also)
        return Candidates({h.id: h.score for h in near.hits}, found=near.found)
