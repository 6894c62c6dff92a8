"""Related items: an item's neighbours by source (content and behaviour blended, one
space's, the item-kNN model's) or several spaces blended by weight."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from likewise.engine.checks import check_n, check_score
from likewise.errors import Conflict, InvalidInput, NotFound
from likewise.ranking import ResultCache, weighted
from likewise.ranking.cache import where_key
from likewise.recommend.model import POOL
from likewise.recommend.spaces import blended, check_spaces, query_of
from likewise.retrieval.models import BEHAVIOUR, behaviour_query
from likewise.store import TEXT, Hit, Store

__all__ = ["RELATED_WEIGHTS", "SOURCES", "Related"]

# How related items blend their content and behaviour neighbours (min-max scaled each).
RELATED_WEIGHTS = {"behaviour": 1.0, "content": 0.25}
# The neighbours `similar` may be asked for, and the space each searches (None: the blend).
SOURCES: dict[str, str | None] = {
    "related": None,
    "content": TEXT,
    "behaviour": BEHAVIOUR,
    "collaborative": "collaborative",
}


class Related:
    """`similar`, mixed into the Catalog, which owns the store and the cache of hot results."""

    store: Store
    similar_cache: ResultCache[list[Hit]]

    def _learned(self) -> bool:
        """Whether trained models filled the behaviour space; none here."""
        return False

    def _model_version(self) -> str:
        """The trained models' version (related items depend on it); none here."""
        return ""

    def similar(
        self,
        item_id: str,
        *,
        n: int = 10,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        space: str | None = None,
        source: str | None = None,
        min_score: float | None = None,
        spaces: Mapping[str, float] | None = None,
    ) -> list[Hit]:
        """The `n` items closest to `item_id` (never itself), passing `where`.

        `source` chooses the neighbours: `related` (the default) blends, once `train` has
        filled the `behaviour` space, its neighbours (what people go on to like after this
        item) with the content neighbours (`RELATED_WEIGHTS`), and is the content
        neighbours alone before; `content` and `behaviour` are one space's neighbours;
        `collaborative` the trained item-kNN model's (people who liked this also liked).
        `space` names any vector space instead (e.g. one of your own), and `spaces` blends
        several by weight, `{"text": 0.6, "image": 0.4}`: each candidate's cosines summed
        (see `recommend.spaces`; an item with no vector in a space scores 0 there; a weight
        the Engine refuses, or a source or space beside it, is InvalidInput naming
        `spaces`). Hits scored below
        `min_score` are left out: a short list rather than weak matches. Answers are kept in
        a cache of hot results until the catalog changes or `cache_seconds` pass.
        """
        check_n(n)
        check_score(min_score)
        if spaces is not None:
            if source is not None or space is not None:
                raise InvalidInput("give spaces, or a source or a space: one", field="spaces")
            weights = check_spaces(spaces, self.store.spaces())
        if source is not None and space is not None:
            raise InvalidInput("give a source or a space, not both", field="space")
        if source is not None and source not in SOURCES:
            known = ", ".join(SOURCES)
            raise InvalidInput(f"unknown {source!r}; known: {known}", field="source")
        if space == "collaborative":  # a source, not a space
            raise InvalidInput("unknown space 'collaborative': use source=", field="space")
        chosen = SOURCES.get(source or "", space)
        blend = None if spaces is None else tuple(sorted(weights.items()))
        key = (item_id, n, where_key(where), tuple(exclude), chosen, blend, self._model_version())
        hit = self.similar_cache.get("", key)
        if hit is None:
            version = self.similar_cache.version("")
            skip = [item_id, *exclude]
            if spaces is not None:
                hit = self._blended(item_id, n, where, skip, weights)
            elif chosen is None:
                hit = self._related(item_id, n, where, skip)
            elif chosen == "collaborative":
                hit = self._collaborative(item_id, n, where, skip)
            else:
                if chosen == BEHAVIOUR and not self._learned():
                    raise Conflict("no behaviour model yet: run `train` first", field="source")
                vector = self.store.vector(item_id, space=chosen)
                hit = self.store.search(vector, n=n, where=where, exclude=skip, space=chosen)
            self.similar_cache.put("", key, list(hit), version)
        # A copy: the caller may change its list, not the cached one.
        return [h for h in hit if min_score is None or h.score >= min_score]

    def _collaborative(
        self, item_id: str, n: int, where: Mapping[str, Any] | None, skip: Sequence[str]
    ) -> list[Hit]:
        """The item-kNN model's neighbours that are stored and pass `where`."""
        self._exists(item_id)  # NotFound as the other sources
        scores = self._neighbours(item_id, skip)
        ranked = sorted(scores, key=lambda i: (-scores[i], i))
        keep: list[str] = []
        for start in range(0, len(ranked), 4 * n):  # the model knows no metadata
            keep += self.store.matching(ranked[start : start + 4 * n], where)
            if len(keep) >= n:
                break
        return [Hit(i, scores[i]) for i in keep[:n]]

    def _neighbours(self, item_id: str, skip: Sequence[str]) -> dict[str, float]:
        """The trained item-kNN scores of the items near `item_id`; a subclass that holds a
        model answers (Conflict naming `source` before one)."""
        raise Conflict("no collaborative model yet: run `train` first", field="source")

    def _related(
        self, item_id: str, n: int, where: Mapping[str, Any] | None, skip: Sequence[str]
    ) -> list[Hit]:
        """Content and behaviour neighbours blended (content alone before a model)."""
        text = self.store.vector(item_id)
        learned = (
            self.store.vectors([item_id], space=BEHAVIOUR).get(item_id) if self._learned() else None
        )
        if learned is None:
            return self.store.search(text, n=n, where=where, exclude=skip)
        offers = {
            "content": self.store.search(text, n=POOL * n, where=where, exclude=skip),
            "behaviour": self.store.search(
                behaviour_query(learned), n=POOL * n, where=where, exclude=skip, space=BEHAVIOUR
            ),
        }
        fused = weighted(
            {k: {h.id: h.score for h in v} for k, v in offers.items()}, RELATED_WEIGHTS
        )
        best = sorted(fused, key=lambda i: (-fused[i], i))[:n]
        return [Hit(i, fused[i]) for i in best]

    def _blended(
        self,
        item_id: str,
        n: int,
        where: Mapping[str, Any] | None,
        skip: Sequence[str],
        weights: Mapping[str, float],
    ) -> list[Hit]:
        """The neighbours of the item's vectors in each weighted space, blended (none in a
        space where the item has no vector: it has nothing to be near there)."""
        self._exists(item_id)
        queries = {}
        for space in weights:
            found = self.store.vectors([item_id], space=space).get(item_id)
            if found is not None:
                queries[space] = query_of(space, found)
        scores = blended(self.store, queries, weights, n=POOL * n, where=where, exclude=skip)
        return [Hit(i, s) for i, s in list(scores.items())[:n]]

    def _exists(self, item_id: str) -> None:
        """NotFound unless the item is stored."""
        if not self.store.get([item_id]):
            raise NotFound("item", item_id)
