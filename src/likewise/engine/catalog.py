"""The items half of the Engine: the catalog, its vectors in every space, and search."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from likewise.config import Settings
from likewise.embedders.base import Embedder
from likewise.engine.checks import IngestReport, check_n, validate_items
from likewise.engine.ingest import Progress, embed_all, ingest
from likewise.errors import ConfigError, InvalidInput, NotFound
from likewise.items.model import ContentTemplate, Item
from likewise.ranking import ResultCache, weighted
from likewise.ranking.cache import where_key
from likewise.recommend.model import POOL
from likewise.retrieval.models import BEHAVIOUR, behaviour_query
from likewise.store import TEXT, Hit, Space, Store, metric_of

# How related items blend their content and behaviour neighbours (min-max scaled each).
RELATED_WEIGHTS = {"behaviour": 1.0, "content": 0.25}

__all__ = ["Catalog"]


class Catalog:
    """Items in, related items and search out, over one store and one embedder."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings) -> None:
        info = store.info
        if info is None:
            raise ConfigError("the store is not initialised; use Engine.open")
        self.store = store
        self.embedder = embedder
        self.template = ContentTemplate.parse(info.template)
        self.batch_size = settings.store.batch_size
        self.similar_cache: ResultCache[list[Hit]] = ResultCache(
            size=settings.ranking.cache_size, ttl=settings.ranking.cache_seconds
        )

    # -- writes -----------------------------------------------------------------------------

    def add_items(
        self,
        records: Iterable[Item | Mapping[str, Any]],
        *,
        delete_missing: bool = False,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Insert or update items by id; only items whose embedded text changed are embedded.

        Every record is validated before anything is written. Writes are durable in batches of
        `batch_size`: if the process dies, re-running the same call resumes where it stopped.
        With `delete_missing`, stored items absent from `records` are deleted (a full sync).
        """
        items = validate_items(records)
        report = ingest(
            self.store,
            self.embedder,
            self.template,
            items,
            batch=self.batch_size,
            delete_missing=delete_missing,
            progress=progress,
        )
        if report.new or report.changed:
            self._items_added([i.id for i in items])
        if report.new or report.changed or report.deleted:
            self._catalog_changed()
        return report

    def delete(self, ids: Sequence[str]) -> int:
        """Delete items by id; returns how many existed."""
        removed = self.store.delete(ids)
        self._catalog_changed()
        return removed

    def reembed(self, embedder: Embedder, *, progress: Progress | None = None) -> int:
        """Embed every item again with another model and switch the store to it."""
        info, entries = embed_all(self.store, embedder, self.template, self.batch_size, progress)
        self.store.replace_all(info, entries)
        self._catalog_changed()
        self.embedder = embedder
        self._embedder_changed(embedder)
        return len(entries)

    def _learned(self) -> bool:
        """Whether trained models filled the behaviour space; none here."""
        return False

    def _model_version(self) -> str:
        """The trained models' version (related items depend on it); none here."""
        return ""

    def _items_added(self, ids: Sequence[str]) -> None:
        """Items were written (new or changed among `ids`): a subclass may place them."""

    def _catalog_changed(self) -> None:
        """Items changed: every cached list may be stale."""
        self.similar_cache.touch_all()

    def _embedder_changed(self, embedder: Embedder) -> None:
        """`reembed` switched the model (subclasses pass it on)."""

    def similar(
        self,
        item_id: str,
        *,
        n: int = 10,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        space: str | None = None,
    ) -> list[Hit]:
        """The `n` items closest to `item_id` in `space` (never itself), passing `where`.

        With no `space`: related items. Once `train` has filled the `behaviour` space, its
        neighbours (what people go on to like after this item) are blended with the content
        neighbours (`RELATED_WEIGHTS`); before, the content neighbours alone. Answers are kept
        in a cache of hot results until the catalog changes or `cache_seconds` pass.
        """
        check_n(n)
        key = (item_id, n, where_key(where), tuple(exclude), space, self._model_version())
        hit = self.similar_cache.get("", key)
        if hit is not None:
            return list(hit)  # the caller may change its list, not the cached one
        version = self.similar_cache.version("")
        if space is None:
            hits = self._related(item_id, n, where, [item_id, *exclude])
        else:
            vector = self.store.vector(item_id, space=space)
            skip = [item_id, *exclude]
            hits = self.store.search(vector, n=n, where=where, exclude=skip, space=space)
        self.similar_cache.put("", key, list(hits), version)
        return hits

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

    def search(
        self,
        text: str,
        *,
        n: int = 10,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
    ) -> list[Hit]:
        """The `n` items whose content is closest to a free text query."""
        check_n(n)
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("must be a non-empty string", field="text")
        vector = self.embedder.embed([text])[0]
        return self.store.search(vector, n=n, where=where, exclude=exclude)

    def search_vector(
        self,
        vector: Sequence[float] | np.ndarray[Any, Any],
        *,
        n: int = 10,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        space: str = TEXT,
    ) -> list[Hit]:
        """The `n` items closest to a vector of `space`'s dimension."""
        check_n(n)
        return self.store.search(
            np.asarray(vector, dtype=np.float32), n=n, where=where, exclude=exclude, space=space
        )

    def spaces(self) -> dict[str, Space]:
        """Every vector space of the store: `text` (the embedder's) and any added."""
        return self.store.spaces()

    def add_space(self, name: str, dim: int, *, metric: str = "cosine") -> Space:
        """Create a vector space for vectors that do not come from the embedder (learned from
        behaviour, from images, or your own); a no-op if it exists alike."""
        space = Space(name, dim, metric_of(metric))
        self.store.add_space(space)
        return space

    def put_vectors(
        self, space: str, vectors: Mapping[str, Sequence[float] | np.ndarray[Any, Any]]
    ) -> None:
        """Set items' vectors in a space other than `text`, all or nothing."""
        self.store.put_vectors(
            space, {i: np.asarray(v, dtype=np.float32) for i, v in vectors.items()}
        )
        self._catalog_changed()

    def vectors(self, ids: Sequence[str], *, space: str = TEXT) -> dict[str, np.ndarray[Any, Any]]:
        """The stored vectors in `space` of the items among `ids`."""
        return self.store.vectors(ids, space=space)

    def ids(self) -> list[str]:
        """Every stored item id, sorted."""
        return self.store.all_ids()

    def get(self, item_id: str) -> Item:
        """One stored item, or NotFound."""
        found = self.store.get([item_id])
        if not found:
            raise NotFound("item", item_id)
        return found[0]

    def get_many(self, ids: Sequence[str]) -> list[Item]:
        """The stored items among `ids`, in order."""
        return self.store.get(ids)

    def count(self, where: Mapping[str, Any] | None = None) -> int:
        """How many items pass `where`."""
        return self.store.count(where)
