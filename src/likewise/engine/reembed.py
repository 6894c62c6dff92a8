"""`reembed`: every item embedded again by another model, without stopping search.

The new vectors go into the store's shadow of the `text` space (`store/shadow.py`) in
durable batches, while search, similar items and "for you" lists keep answering from the
old ones. A run that stops (an embedder error, a kill) leaves its finished batches there,
and the next run with the same model embeds only the items still missing, including items
added or whose text changed meanwhile. When every item has a new vector, the shadow is
swapped in by one transaction.

Other processes follow the swap:
- an embedded store reads its model at each look, so the next call of any engine sees it;
- a PostgreSQL store trusts its view for up to `META_SECONDS` (5 s). Within that gap, a
  search embedded by the old model, or a vector of the old dimension, is refused by the
  store after it reads the model afresh, and the engine embeds the query again; related
  items and "for you" lists read their vectors from the store (the new model's), which the
  store checks the same way, so they answer too;
- writes do not wait for the gap: adding items and onboarding from words read the model
  afresh first (`ModelSwitch._current(fresh=True)`), and an ingest asks again once each
  window is embedded, before it is written, embedding it again if a swap came between.
  What remains is a swap committed between that last look and the write's own transaction
  (milliseconds): with models of two dimensions the database refuses the write, and with
  one dimension the items keep the old model's vectors until their text changes or a
  reembed runs. Items that events create (`unknown_items=create`) embed their id with the
  model the engine last saw.

On PostgreSQL each reembed leaves two dropped columns in `items` (the old `embedding` and
the empty untyped shadow column it replaces). Their vectors stay in the pages of rows not
rewritten since, until `VACUUM FULL items` (which locks the table) rewrites it; and the
table keeps their column numbers even then, so after about 790 reembeds of one store
PostgreSQL refuses the next (a table may have had at most 1,600 columns); `likewise copy`
into a fresh database starts a new table. tests/test_reembed.py counts the columns.
"""

from __future__ import annotations

import logging

from likewise.config.embedding import EmbeddingConfig
from likewise.embedders.base import Embedder
from likewise.embedders.registry import get_embedder
from likewise.embedders.vectors import OwnVectors
from likewise.engine.ingest import Progress
from likewise.errors import Conflict
from likewise.items.model import ContentTemplate
from likewise.store import Store
from likewise.store.shadow import Shadow, ShadowRow

__all__ = ["ROUNDS", "ModelSwitch", "reembed"]

log = logging.getLogger(__name__)

# How many times the items written during a run are caught up with before the swap is given
# up (items changing faster than they can be embedded): the next run continues.
ROUNDS = 5


def reembed(
    store: Store,
    embedder: Embedder,
    template: ContentTemplate,
    *,
    batch: int,
    restart: bool,
    progress: Progress | None,
) -> int:
    """Fill the shadow with `embedder`'s vectors and swap it in; returns how many items were
    embedded by this run (those a stopped run finished are not embedded again).

    A shadow of another model is refused (Conflict naming `model`) unless `restart`, which
    discards it; `restart` also discards one of this model, embedding every item again.
    """
    target = Shadow(embedder.model_id, embedder.dim)
    found = store.shadow()
    if found is not None and (restart or found != target):
        if not restart:
            raise Conflict(
                f"a reembed with {found.model_id} is unfinished: run it again to finish it "
                "(`likewise reembed --model ...`), or discard it with --restart",
                field="model",
            )
        log.info("discarding the unfinished reembed with %s", found.model_id)
        store.drop_shadow()
    store.begin_shadow(target)
    embedded = 0
    for round_no in range(ROUNDS):
        todo = store.shadow_missing()
        finished = store.count() - len(todo) if round_no == 0 and progress else 0
        if progress and finished > 0:
            progress(finished)  # by an earlier run
        embedded += _fill(store, embedder, template, todo, batch, progress)
        try:
            store.swap_shadow()
        except Conflict:  # items added or changed while this round embedded
            continue
        return embedded
    raise Conflict(
        f"items kept changing during the reembed with {target.model_id}; run it again to "
        "embed the rest",
        field="model",
    )


def _fill(
    store: Store,
    embedder: Embedder,
    template: ContentTemplate,
    ids: list[str],
    batch: int,
    progress: Progress | None,
) -> int:
    """Embed the items among `ids` into the shadow, a durable batch at a time; returns how
    many texts were embedded."""
    # A remote embedder keeps `concurrency` requests in flight: it is handed that many
    # batches at once, written one by one once all are embedded (as `ingest` does).
    window = batch * max(1, embedder.concurrency)
    embedded = 0
    for start in range(0, len(ids), window):
        items = store.get(ids[start : start + window])  # deleted meanwhile: left out
        if not items:
            continue
        vectors = embedder.embed([template.render(item) for item in items])
        embedded += len(items)
        for first in range(0, len(items), batch):
            part = range(first, min(first + batch, len(items)))
            store.put_shadow(
                [ShadowRow(items[k].id, template.content_hash(items[k]), vectors[k]) for k in part]
            )
            if progress:
                progress(len(part))
    return embedded


class ModelSwitch:
    """The Engine's model: `reembed` switches it, and a switch made by another process is
    followed (a mixin of `Catalog`, which provides the attributes below)."""

    store: Store
    embedder: Embedder
    embedding: EmbeddingConfig
    template: ContentTemplate
    batch_size: int

    def _cut(self, embedder: Embedder) -> Embedder:
        raise NotImplementedError

    def _catalog_changed(self) -> None:
        raise NotImplementedError

    def _embedder_changed(self, embedder: Embedder) -> None:
        raise NotImplementedError

    def rebuild_profiles(self, *, progress: Progress | None = None) -> int:
        """Profiles from the event log (the Engine's; a catalog alone has none)."""
        return 0

    def reembed(
        self,
        embedder: Embedder | str,
        *,
        restart: bool = False,
        progress: Progress | None = None,
    ) -> int:
        """Embed every item again with another model (an `Embedder`, or a model name as
        `likewise reembed --model` takes) and switch the store to it; returns how many items
        this call embedded.

        The new vectors are written in durable batches beside the current ones, which keep
        answering searches until every item has a new vector; then one transaction swaps
        them in. A call that stops (an error, a kill) is continued by calling it again with
        the same model: finished batches are not embedded again, and items added, changed or
        deleted meanwhile are taken into account. An unfinished reembed with another model
        is a Conflict naming `model` unless `restart`, which discards it (and, with the same
        model, starts over). The swap drops the `text` profiles (vectors of the old model;
        a user meanwhile gets the lists of a user with none), and they are then rebuilt from
        the event log, as `rebuild_profiles` does (onboarding seeds of `text` are lost).
        """
        if isinstance(embedder, str):
            embedder = get_embedder(embedder, embedding=self.embedding)
        embedder = self._cut(embedder)
        done = reembed(
            self.store,
            embedder,
            self.template,
            batch=self.batch_size,
            restart=restart,
            progress=progress,
        )
        self._switch(embedder)
        self.rebuild_profiles()  # the swap dropped those of the old model
        return done

    def _current(self, *, fresh: bool = False) -> Embedder:
        """The embedder of the store's model: when another process (or engine) has swapped
        in a reembed since, the new model is loaded, so queries and new items are embedded
        as the stored vectors are.

        A PostgreSQL store trusts its view of the model for a few seconds (`META_SECONDS`):
        a search embedded by the old model meanwhile is refused by the store and retried.
        A write has no such net when both models have one dimension, so the write paths
        (items, onboarding from words) ask `fresh`: the store's record of its spaces is read
        again first (one small query), and a swap committed before it is followed."""
        if fresh:
            self.store.spaces()  # reads the store's model and spaces afresh, on any backend
        info = self.store.info
        if info is not None and info.model_id != self.embedder.model_id:
            log.info("the store's model is now %s (reembedded)", info.model_id)
            self._switch(self._cut(get_embedder(info.model_id, embedding=self.embedding)))
        return self.embedder

    def _owns_text(self) -> bool:
        """Whether the store has no text model: its `text` space takes the team's own
        vectors (`vectors:<dim>`), which every item then carries."""
        return isinstance(self._current(), OwnVectors)

    def _switch(self, embedder: Embedder) -> None:
        """Embed with `embedder` from now on (the store's vectors are its)."""
        self.embedder = embedder
        self._catalog_changed()
        self._embedder_changed(embedder)
