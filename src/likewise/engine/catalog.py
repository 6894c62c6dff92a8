"""The items half of the Engine: the catalog, its vectors in every space, and search."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from likewise.config import Settings
from likewise.embedders.base import Embedder
from likewise.engine.checks import (
    IngestReport,
    check_n,
    check_score,
    check_space_args,
    check_vector,
    item_problem,
    validate_items,
)
from likewise.engine.images import embed_images, image_model, images_to_embed, search_by_text
from likewise.engine.ingest import Progress, ingest
from likewise.engine.pages import ItemPage, check_limit
from likewise.engine.reembed import ModelSwitch
from likewise.engine.related import SOURCES, Related
from likewise.errors import ConfigError, IngestStopped, InvalidInput, NotFound
from likewise.items.model import ContentTemplate, Item, check_json
from likewise.ranking import ResultCache
from likewise.store import TEXT, Hit, Space, Store, metric_of

__all__ = ["SOURCES", "Catalog"]  # SOURCES: where the CLI reads them


class Catalog(Related, ModelSwitch):
    """Items in, related items and search out, over one store and one embedder (switched
    by `reembed`, :class:`ModelSwitch`)."""

    image_embedder: Embedder | None = None  # the `image` space's model, built on first use

    def __init__(self, store: Store, embedder: Embedder, settings: Settings) -> None:
        info = store.info
        if info is None:
            raise ConfigError("the store is not initialised; use Engine.open")
        self.store = store
        self.limits = settings.limits.rules()
        self.max_text_chars = settings.limits.max_text_chars
        self.embedding = settings.embedding  # how a model the store switches to is called
        self.embedder = self._cut(embedder)
        self.template = ContentTemplate.parse(info.template)
        self.batch_size = settings.store.batch_size
        self.images = settings.images  # where images come from, and their model
        self.similar_cache: ResultCache[list[Hit]] = ResultCache(
            size=settings.ranking.cache_size, ttl=settings.ranking.cache_seconds
        )

    # -- writes -----------------------------------------------------------------------------

    def check_items(
        self, records: Sequence[Item | Mapping[str, Any]]
    ) -> list[tuple[int, InvalidInput]]:
        """Every item that could not be added, by position, with why; nothing is written (a
        file ingest reports them all, or leaves them out, before it adds any)."""
        spaces, own = functools.cache(self.store.spaces), self._owns_text()
        found = (item_problem(r, self.limits, self.template, spaces, own_text=own) for r in records)
        return [(k, problem) for k, problem in enumerate(found) if problem is not None]

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
        Items with an image (a file, bytes, a URL) get its vector in `image` (engine/images.py).

        An item may carry its own vectors, `{"vectors": {"image": [...]}}`, for spaces made
        with :meth:`add_space` (`text` in a `vectors:<dim>` store). They are checked with the
        rest (the space known, its dimension, every number finite) and written after the
        item's batch, as :meth:`put_vectors` would (a cosine space keeps them at unit
        length). An item given without `vectors` keeps those it has.
        """
        own = self._owns_text()  # `vectors:<dim>`: every item brings its text vector
        items = validate_items(records, self.limits, self.template, self.store.spaces, own_text=own)
        images = images_to_embed(self.store, items, self._image_model, self.images)
        try:
            report = ingest(
                self.store,
                lambda: self._current(fresh=True),
                self.template,
                items,
                batch=self.batch_size,
                delete_missing=delete_missing,
                progress=progress,
            )
        except IngestStopped as stopped:
            # The batches written before the failure are in the store: place them and let
            # no cached list miss them, as a finished ingest would.
            missing = set(stopped.missing)
            self._items_added([i.id for i in items if i.id not in missing])
            self._catalog_changed()
            raise
        if report.new or report.changed:
            self._items_added([i.id for i in items])
        if images:  # after the items, which their vectors need; see engine/images.py
            embed_images(self.store, self._image_model, images, self.batch_size)
            self._catalog_changed()
        if report.new or report.changed or report.deleted:
            self._catalog_changed()
        return report

    def _image_model(self) -> Embedder:
        """The model of the space `image` (the `image_model` setting), built on first use."""
        if self.image_embedder is None:
            self.image_embedder = image_model(self.images, self.embedding)
        return self.image_embedder

    def delete(self, ids: Sequence[str]) -> int:
        """Delete items by id; returns how many existed."""
        removed = self.store.delete(ids)
        self._catalog_changed()
        return removed

    def _cut(self, embedder: Embedder) -> Embedder:
        """`embedder`, cutting each text at the `max_text_chars` setting when it is given
        (else at the model's own `max_chars`). Set on the embedder itself, so that every part
        of the engine that embeds with it (search, ingest, onboarding) cuts alike."""
        if self.max_text_chars is not None:
            embedder.max_chars = self.max_text_chars
        return embedder

    def _items_added(self, ids: Sequence[str]) -> None:
        """Items were written (new or changed among `ids`): a subclass may place them."""

    def _catalog_changed(self) -> None:
        """Items changed: every cached list may be stale."""
        self.similar_cache.touch_all()

    def _embedder_changed(self, embedder: Embedder) -> None:
        """`reembed` switched the model (subclasses pass it on)."""

    def search(
        self,
        text: str,
        *,
        n: int = 10,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        min_score: float | None = None,
        space: str = TEXT,
    ) -> list[Hit]:
        """The `n` items whose content (or images: `space="image"`, when its model embeds
        texts too) is closest to a free text query; those scored below `min_score` left out."""
        check_n(n)
        check_score(min_score)
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("must be a non-empty string", field="text")
        check_json(text, "text")
        embedder = self._current()
        try:
            if space != TEXT:  # embedded by that space's model (engine/images.py)
                options = {"n": n, "where": where, "exclude": exclude}
                hits = search_by_text(self.store, space, self._image_model, text, **options)
            else:
                hits = self.store.search(
                    embedder.embed([text])[0], n=n, where=where, exclude=exclude
                )
        except InvalidInput as exc:  # a model another server swapped in since it last looked
            if exc.field != "vector" or self._current() is embedder:
                raise
            vector = self.embedder.embed([text])[0]
            hits = self.store.search(vector, n=n, where=where, exclude=exclude)
        return [h for h in hits if min_score is None or h.score >= min_score]

    def search_vector(
        self,
        vector: Sequence[float] | np.ndarray[Any, Any],
        *,
        n: int = 10,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        space: str = TEXT,
        min_score: float | None = None,
    ) -> list[Hit]:
        """The `n` items closest to a vector of `space`'s dimension, a query of your own
        (those scored below `min_score` left out). Its numbers are checked as an item's own
        vectors are (InvalidInput naming `vector`); an unknown space names `space`."""
        check_n(n)
        check_score(min_score)
        known = self.store.spaces()
        if not isinstance(space, str) or space not in known:
            names = ", ".join(known)
            raise InvalidInput(f"unknown space {space!r}; known: {names}", field="space")
        query = check_vector(vector, known[space], "vector")
        hits = self.store.search(query, n=n, where=where, exclude=exclude, space=space)
        return [h for h in hits if min_score is None or h.score >= min_score]

    def spaces(self) -> dict[str, Space]:
        """Every vector space of the store: `text` (the embedder's) and any added."""
        return self.store.spaces()

    def add_space(self, name: str, dim: int, *, metric: str = "cosine") -> Space:
        """Create a vector space for vectors that do not come from the embedder (learned from
        behaviour, from images, or your own); a no-op if it exists alike, ConfigError if it
        exists otherwise. A bad name, dimension or metric is an InvalidInput naming `space`,
        `dim` or `metric`, as over HTTP."""
        check_space_args(name, dim, metric)
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

    def list_items(
        self,
        *,
        cursor: str | None = None,
        limit: int = 100,
        where: Mapping[str, Any] | None = None,
    ) -> ItemPage:
        """A page of the catalog in id order, passing `where`: up to `limit` items after
        `cursor` (the `next_cursor` of the page before; None: from the start). The page's
        `next_cursor` is None once the catalog is read to its end."""
        check_limit(limit)
        if cursor is not None and (
            not isinstance(cursor, str) or any(c < " " for c in cursor) or len(cursor) > 1024
        ):  # an item id: no control characters (a NUL would fail in the database)
            raise InvalidInput("must be the next_cursor of a page", field="cursor")
        after, chunk = cursor or "", max(limit, 256)
        found: list[str] = []
        while True:
            ids = self.store.item_ids(after=after, limit=chunk)
            passing = ids if where is None else self.store.matching(ids, where)
            room = limit - len(found)
            found += passing[:room]
            if len(passing) > room:  # full, with more to come in this chunk
                return ItemPage(self.store.get(found), found[-1])
            if len(ids) < chunk:  # the end of the catalog
                return ItemPage(self.store.get(found), None)
            after = ids[-1]
            if len(found) == limit:
                return ItemPage(self.store.get(found), after)

    def latest(
        self,
        *,
        n: int = 10,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
    ) -> list[Hit]:
        """The `n` items written last (added, or changed), newest first, passing `where`
        (score 0: they are ranked by when, not by how well)."""
        check_n(n)
        return self.store.popular(n=n, where=where, exclude=exclude, newest=True)

    def count(self, where: Mapping[str, Any] | None = None) -> int:
        """How many items pass `where`."""
        return self.store.count(where)
