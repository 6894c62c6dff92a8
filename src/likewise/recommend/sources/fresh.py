"""The fresh source: recently published items near the user's interest vector."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from likewise.recommend.sources.base import Candidates, Query
from likewise.store import Store

__all__ = ["Fresh"]


@dataclass(frozen=True)
class Fresh:
    """The store's vector search among items whose `published_at` is within `days`."""

    store: Store
    days: float = 7.0

    def __call__(self, query: Query) -> Candidates:
        if query.vector is None:
            return Candidates({})
        since = datetime.fromtimestamp(time.time() - self.days * 86_400, UTC)
        recent = {"published_at": {"gte": since.isoformat()}}
        where = {"$and": [query.where, recent]} if query.where else recent
        hits = self.store.search(query.vector, n=query.n, where=where, exclude=query.exclude)
        return Candidates({h.id: h.score for h in hits})
