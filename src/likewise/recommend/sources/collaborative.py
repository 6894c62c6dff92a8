"""The collaborative source: what people who liked the user's recent items liked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from likewise.recommend.sources.base import Candidates, Query
from likewise.retrieval import ItemItem

__all__ = ["Collaborative"]


@dataclass(frozen=True)
class Collaborative:
    """Item-item scores of `query.recent` (nothing before the model is trained).

    The model knows no metadata, so it offers its best `2 n` unfiltered and leaves the
    `where` check to the ranker (`keep=n`). It reads no store: `model` returns the trained
    model the Personaliser keeps (loading it once from the store).
    """

    model: Callable[[], ItemItem | None]

    def __call__(self, query: Query) -> Candidates:
        model = self.model()
        if model is None:
            return Candidates({})
        best = model.top(query.recent, 2 * query.n, exclude=query.exclude)
        return Candidates(best, keep=query.n)
