"""The sources of the trained models: item-kNN, EASE, the next-item model, the neural one
and the behaviour space's vector search."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from likewise.recommend.sources.base import Candidates, Query
from likewise.retrieval.models import BEHAVIOUR, Models, behaviour_query
from likewise.store import Store

__all__ = ["Behaviour", "Collaborative", "Learned"]


@dataclass(frozen=True)
class Learned:
    """A trained model's scores of `query.recent` (nothing before it is trained): `which` is
    `itemknn`, `ease`, `next_item` or `neural`, each with the same `top(history, n, exclude=)`.

    The model knows no metadata, so it offers its best `2 n` unfiltered and leaves the
    `where` check to the ranker (`keep=n`). It reads no store: `models` returns the bundle
    the Personaliser keeps (loaded from the store when it changes).
    """

    models: Callable[[], Models | None]
    which: str

    def __call__(self, query: Query) -> Candidates:
        models = self.models()
        model = None if models is None else getattr(models, self.which)
        if model is None:
            return Candidates({})
        return Candidates(model.top(query.recent, 2 * query.n, exclude=query.exclude), keep=query.n)


@dataclass(frozen=True)
class Collaborative(Learned):
    """Item-kNN scores of `query.recent`: the `collaborative` source."""

    which: str = "itemknn"


@dataclass(frozen=True)
class Behaviour:
    """The behaviour space's filtered search around the user's taste (`query.taste`)."""

    store: Store

    def __call__(self, query: Query) -> Candidates:
        if query.taste is None:
            return Candidates({})
        hits = self.store.search(
            behaviour_query(query.taste),
            n=query.n,
            where=query.where,
            exclude=query.exclude,
            space=BEHAVIOUR,
        )
        return Candidates({h.id: h.score for h in hits})
