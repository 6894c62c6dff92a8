"""The Engine: the one facade the CLI, the service and applications call."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any, Self

from likewise.config import Settings
from likewise.embedders.base import Embedder
from likewise.embedders.registry import get_embedder
from likewise.engine.checks import (
    MAX_N,
    IngestReport,
    check_compatible,
    check_n,
    check_page,
    check_score,
)
from likewise.engine.digest import Digests
from likewise.engine.feed_worker import Pushes
from likewise.engine.follow import follow
from likewise.engine.groups import Groups
from likewise.engine.ingest import Progress
from likewise.engine.learning import Learning
from likewise.engine.measures import Measures
from likewise.engine.retention import Retention
from likewise.engine.segments import Segments
from likewise.engine.sessions import Sessions
from likewise.engine.tracking import Tracker
from likewise.errors import InvalidInput
from likewise.events.model import Event, check_user_id
from likewise.items.model import ContentTemplate, check_json, check_text
from likewise.personal import Personaliser, RecordReport
from likewise.ranking import ResultCache
from likewise.recommend import Recommendation, new_id
from likewise.retrieval import ItemItem
from likewise.store import Hit, Store, StoreInfo, metric_of, open_store
from likewise.store.copy_mark import check_finished
from likewise.tracking.experiments import check_name

__all__ = ["Engine", "IngestReport"]

log = logging.getLogger(__name__)


class Engine(Digests, Groups, Segments, Sessions, Measures, Retention, Learning, Pushes):
    """Items and events in; related items, search and "for you" lists out; and which lists
    work, measured. The items, vectors and search half is :class:`Catalog`'s, with the
    feed's queue over it (:class:`Feed`).

    Example:
        >>> engine = Engine.open("./data")
        >>> engine.add_items([{"id": "a1", "title": "Moon landing", "category": "news"}])
        >>> engine.similar("a1", n=5, where={"category": "news"})
        >>> engine.record("u1", "a1", "like")
        >>> engine.recommend("u1", n=10)
    """

    def __init__(self, store: Store, embedder: Embedder, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        super().__init__(store, embedder, settings)
        self.personal = Personaliser(store, embedder, settings)
        self.settings = settings
        self.tracker = Tracker(store, settings.tracking, self._lists_changed)
        follow(self)  # another server's writes drop this one's cached lists

    def _learned(self) -> bool:
        return self.personal.learned()

    def _model_version(self) -> str:
        models = self.personal.models
        return "" if models is None else models.version

    def _neighbours(self, item_id: str, skip: Sequence[str]) -> dict[str, float]:
        model = self.personal.collaborative
        if model is None:
            return super()._neighbours(item_id, skip)
        return model.scores([item_id], exclude=skip)

    def _items_added(self, ids: Sequence[str]) -> None:
        self.personal.place(ids)  # into the behaviour space, from content, until `train`

    def _catalog_changed(self) -> None:
        self.personal.cache.touch_all()
        super()._catalog_changed()

    def _embedder_changed(self, embedder: Embedder) -> None:
        self.personal.embedder = embedder

    @classmethod
    def open(
        cls,
        location: str | None = None,
        *,
        model: str | None = None,
        embedder: Embedder | None = None,
        metric: str | None = None,
        template: str | None = None,
        settings: Settings | None = None,
    ) -> Engine:
        """Open (or create) the store at `location`: a directory for the embedded store.

        A new store records the model, metric and content template; opening it later with a
        different model is an error (switch with :meth:`reembed`).
        """
        settings = settings or Settings()
        named = partial(get_embedder, embedding=settings.embedding)
        store = open_store(
            location or settings.store.data,
            read_urls=settings.store.read_urls(),
            vector_storage=settings.store.vector_storage,
        )
        try:
            info = store.info
            if info is None:
                embedder = embedder or named(model or settings.store.model)
                tpl = ContentTemplate.parse(template or settings.store.template)
                info = StoreInfo(
                    embedder.model_id,
                    embedder.dim,
                    metric_of(metric or settings.store.metric),
                    str(tpl),
                )
                store.initialize(info)
            else:
                check_finished(store)  # not a copy cut short
                embedder = embedder or named(model or info.model_id)
                check_compatible(info, embedder, metric, template)
        except BaseException:
            store.close()
            raise
        try:
            return cls(store, embedder, settings)
        except BaseException:
            store.close()
            raise

    # -- writes -----------------------------------------------------------------------------

    def _lists_changed(self) -> None:
        """Experiments changed how lists are made: cached lists are stale."""
        self.personal.cache.touch_all()

    # -- events and profiles ----------------------------------------------------------------

    def record(
        self,
        user_id: str,
        item_id: str,
        type: str,
        *,
        value: float | None = None,
        context: Mapping[str, Any] | None = None,
        timestamp: float | str | None = None,
        event_id: str | None = None,
        recommendation_id: str | None = None,
    ) -> bool:
        """Record one event durably and update the user's profile; False if `event_id` was
        already recorded (a resend is a no-op) or the item is unknown and the `unknown_items`
        setting is `skip`.

        Types: view, click, like, dislike, purchase, skip, rating (value from `rating_min` to
        `rating_max`, 1-5 by default), dwell (value: seconds), and any type added to the
        `signals` setting.
        """
        record: dict[str, Any] = {"user_id": user_id, "item_id": item_id, "type": type}
        extra = dict(value=value, context=context, timestamp=timestamp, event_id=event_id)
        extra["recommendation_id"] = recommendation_id
        record.update({k: v for k, v in extra.items() if v is not None})
        return self.record_event(record).accepted == 1

    def record_many(
        self, events: Iterable[Event | Mapping[str, Any]], *, unknown_items: str | None = None
    ) -> RecordReport:
        """Record a batch in one transaction: all valid or nothing stored; idempotent by
        `event_id`. A bad event is named by its position (`events[3].type`). An event on an
        item the store lacks follows `unknown_items` (default: the setting): `reject` (the
        batch is invalid), `create` (the item, with just its id, is written first) or `skip`
        (left out, counted in `skipped`)."""
        return self._recorded(self.personal.record_many(events, unknown_items=unknown_items))

    def record_event(
        self, event: Event | Mapping[str, Any], *, unknown_items: str | None = None
    ) -> RecordReport:
        """Record one event given as a record (the fields of :meth:`record`); a bad field is
        named as it is (`type`). `unknown_items` as in :meth:`record_many`."""
        report = self.personal.record_many([event], prefix="", unknown_items=unknown_items)
        return self._recorded(report)

    def _recorded(self, report: RecordReport) -> RecordReport:
        if report.created:
            self._catalog_changed()  # new items: cached similar and popular lists are stale
        return report

    def check_events(
        self, events: Sequence[Event], *, unknown_items: str | None = None
    ) -> list[tuple[int, InvalidInput]]:
        """Every event that could not be recorded, by position, with why; nothing is written
        (a file import reports them all before it records any)."""
        return self.personal.problems(events, unknown_items=unknown_items)

    def recommend(
        self,
        user_id: str,
        *,
        n: int = 10,
        strategy: str | None = None,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        include_seen: bool = False,
        context: Mapping[str, Any] | None = None,
        track: bool = True,
        weights: Mapping[str, float] | None = None,
        diversity: float | None = None,
        space: str = "text",
        offset: int = 0,
        min_score: float | None = None,
        spaces: Mapping[str, float] | None = None,
    ) -> Recommendation:
        """Items for a user: nearest to their interest vector under `strategy` (dislike, ema,
        mean or momentum), or `hybrid`: content, collaborative (after :meth:`train`) and
        popular candidates blended by `weights` (default: the `hybrid_weights` setting), made
        varied at `diversity` (default: the setting) by the `diversity_method`.
        Popular items for a user with no profile. Default strategy from settings.

        A profile strategy searches in `space`: `text` (content), or `behaviour` (vectors
        learned from behaviour by :meth:`train`), or any other (`image`, your own), where the
        user's vector is made from their events' items (see `recommend.spaces`); `spaces`
        blends several by weight, `{"text": 0.6, "image": 0.4}` (InvalidInput naming
        `spaces` for an unknown space or a bad weight). Items the user already has events
        with are left out unless `include_seen`. With `track`, the impression (user, items,
        strategy, `context`, time) is logged under the recommendation's id; events that carry
        that id as `recommendation_id` are attributed to it in :meth:`ctr_report`.

        `offset` skips that many better items (the next page: positions go on from there;
        exact for the profile strategies and popular, while `hybrid` scales each source over
        the candidates of the length asked, so its pages may overlap: page it with `exclude`);
        `min_score` leaves out items scored below it, so a list may come back short rather
        than padded with weak matches (scores are the strategy's: similarities for a profile
        strategy, the blend's for `hybrid`). `strategy="popular"` ranks by popularity alone.
        """
        started = time.perf_counter()
        check_n(n)
        check_user_id(user_id)
        check_page(offset)
        check_json(context, "context")
        check_score(min_score)
        variant: str | None = None
        member = self._membership(user_id)  # the user's segments, read once if needed
        asked = (strategy, weights, diversity, spaces) != (None, None, None, None)
        if not asked and space == "text":
            # How to recommend is not asked for: a running experiment decides, else the
            # promoted winner of the last one, else the settings.
            chosen, variant = self.tracker.choose(user_id, member.within)
            if chosen:
                strategy = chosen["strategy"]
                weights, diversity = chosen.get("weights"), chosen.get("diversity")
        # The impression's forget mark is the one the list was begun at: the Ranker reads it
        # for the cache, else with the user, never after them (see Store.forget_user).
        marks: list[int] = []
        rec = self.personal.ranker.recommend(
            user_id,
            n=min(n, MAX_N - offset),  # a page past the list's end is short
            offset=offset,
            strategy=strategy,
            where=where,
            exclude=exclude,
            include_seen=include_seen,
            context=self._targeted(context, member, self.personal.ranker.rules),
            weights=weights,
            diversity=diversity,
            space=space,
            spaces=spaces,
            on_mark=marks.append if track else None,
        )
        if variant is not None or min_score is not None:
            kept = [r for r in rec.items if min_score is None or r.score >= min_score]
            rec = replace(rec, items=kept, variant=variant)
        if track:
            items = [r.id for r in rec.items]
            shown_as = variant or rec.strategy
            ms = (time.perf_counter() - started) * 1000.0
            self.tracker.log(rec.id, user_id, shown_as, items, context, ms, marks[0])
        return rec

    def track(
        self,
        user_id: str,
        strategy: str,
        items: Sequence[str],
        *,
        context: Mapping[str, Any] | None = None,
        ms: float | None = None,
    ) -> str:
        """Log a list shown to a user that :meth:`recommend` did not make (related items,
        search results, a list of your own) as an impression under `strategy`; returns the
        recommendation id to send back with the events it leads to."""
        check_user_id(user_id)
        check_name(strategy, "strategy")
        check_json(context, "context")
        if isinstance(items, str) or not all(isinstance(i, str) for i in items):
            raise InvalidInput("must be a list of item ids", field="items")
        rec_id = new_id()
        self.tracker.log(rec_id, user_id, strategy, items, context, ms, None)
        return rec_id

    def forget_user(self, user_id: str) -> dict[str, int]:
        """Delete everything stored about a user: events, profile, snapshots, impressions, in
        every process on the store (see :meth:`Store.forget_user`; the trained models keep
        their co-occurrences until the next :meth:`train`)."""
        check_user_id(user_id)
        self.tracker.impressions.flush()
        deleted = self.store.forget_user(user_id)
        self._forget_digests(user_id)  # their rows in the digest jobs' files
        self.personal.cache.touch_all()  # their events were in everyone's popular lists
        return deleted

    def profile(self, user_id: str, *, n: int = 5) -> dict[str, Any]:
        """A user's counts, settings and the `n` items nearest their interest vector."""
        check_n(n)
        check_user_id(user_id)
        return self.personal.profile(user_id, n=n)

    def onboard(self, user_id: str, *, text: str | None = None, items: Sequence[str] = ()) -> None:
        """Start a new user from onboarding text ("space, cooking") and/or chosen items."""
        check_text(text, "text")
        self._current(fresh=text is not None)  # words: by the model another process swapped in
        self.personal.onboard(user_id, text=text, items=items)

    def rebuild_profiles(self, *, progress: Progress | None = None) -> int:
        """Replay the event log into fresh profiles; returns how many users were rebuilt."""
        return self.personal.rebuild(progress=progress)

    # -- reads ------------------------------------------------------------------------------

    def popular(
        self,
        *,
        n: int = 10,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        trending: bool = False,
    ) -> list[Hit]:
        """The `n` items with the most positive signal (by age with `trending`); the newest
        follow with score 0 when too few items have events. `n` may pass `MAX_N` (a whole
        catalog's ranking, for evaluation)."""
        return self.store.popular(n=n, where=where, exclude=exclude, trending=trending)

    def seen(self, user_id: str) -> list[str]:
        """Every item the user has an event with."""
        check_user_id(user_id)
        return self.store.seen(user_id)

    def collaborative(self) -> ItemItem | None:
        """The trained item-item model (None before the first :meth:`train`)."""
        return self.personal.collaborative

    def stats(self) -> dict[str, Any]:
        """Counts, model and sizes, and the hits and misses of the caches of hot results."""
        caches: dict[str, ResultCache[Any]] = {
            "recommend": self.personal.cache,
            "similar": self.similar_cache,
        }
        model = self.model()
        return {
            **self.store.stats(),
            "cache": {name: {"hits": c.hits, "misses": c.misses} for name, c in caches.items()},
            "trained": None
            if model is None
            else {k: model.get(k) for k in ("version", "trained_at", "items", "weights", "neural")},
        }

    def close(self) -> None:
        """Write queued impressions, save what makes the next open fast; unusable after."""
        try:
            self.stop_pushes()  # its batch in hand finished first
            self.tracker.impressions.close()
        finally:
            self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
