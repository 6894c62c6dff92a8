"""The Engine: the one facade the CLI, the service and applications call."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Self

import numpy as np

from likewise.config import Settings
from likewise.embedders.base import Embedder
from likewise.embedders.registry import get_embedder
from likewise.errors import ConfigError, InvalidInput, NotFound
from likewise.events.model import Event, check_user_id
from likewise.items.model import ContentTemplate, Item, parse_item
from likewise.personal import Personaliser, Recommendation, RecordReport
from likewise.ranking import ResultCache
from likewise.ranking.cache import where_key
from likewise.recommender import new_id
from likewise.retrieval import ItemItem
from likewise.store import Entry, Hit, Store, StoreInfo, metric_of, open_store
from likewise.tracking import Impression, ImpressionLog, RateRow
from likewise.tracking.experiments import (
    BLOB,
    Experiment,
    ExperimentBook,
    check_name,
    parse_split,
    parse_variant,
)
from likewise.tracking.experiments import report as experiment_report

__all__ = ["Engine", "IngestReport"]

log = logging.getLogger(__name__)

MAX_N = 10_000
Progress = Callable[[int], object]


@dataclass
class IngestReport:
    """What an ingest did; `embedded` counts the items whose text was (re-)embedded."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    embedded: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Engine:
    """Items in, related items and search out.

    Example:
        >>> engine = Engine.open("./data")
        >>> engine.add_items([{"id": "a1", "title": "Moon landing", "category": "news"}])
        >>> engine.similar("a1", n=5, where={"category": "news"})
    """

    def __init__(self, store: Store, embedder: Embedder, settings: Settings | None = None) -> None:
        info = store.info
        if info is None:
            raise ConfigError("the store is not initialised; use Engine.open")
        settings = settings or Settings()
        self.store = store
        self.embedder = embedder
        self.template = ContentTemplate.parse(info.template)
        self.batch_size = settings.store.batch_size
        self.personal = Personaliser(store, embedder, settings)
        self.settings = settings
        self.impressions = ImpressionLog(store.log_impressions)
        self.experiments = ExperimentBook(
            lambda: store.get_blob(BLOB), lambda data: store.put_blob(BLOB, data)
        )
        self.similar_cache: ResultCache[list[Hit]] = ResultCache(
            size=settings.ranking.cache_size, ttl=settings.ranking.cache_seconds
        )

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
        store = open_store(location or settings.store.data)
        try:
            info = store.info
            if info is None:
                embedder = embedder or get_embedder(model or settings.store.model)
                tpl = ContentTemplate.parse(template or settings.store.template)
                info = StoreInfo(
                    embedder.model_id,
                    embedder.dim,
                    metric_of(metric or settings.store.metric),
                    str(tpl),
                )
                store.initialize(info)
            else:
                embedder = embedder or get_embedder(model or info.model_id)
                _check_compatible(info, embedder, metric, template)
        except BaseException:
            store.close()
            raise
        try:
            return cls(store, embedder, settings)
        except BaseException:
            store.close()
            raise

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
        items = _validate(records)
        report = IngestReport()
        stored = self.store.hashes([item.id for item in items])
        todo: list[tuple[Item, str, bool]] = []
        for item in items:
            content = self.template.content_hash(item)
            old = stored.get(item.id)
            if old is None:
                report.new += 1
            elif old == (content, item.record_hash()):
                report.unchanged += 1
                continue
            else:
                report.changed += 1
            todo.append((item, content, old is None or old[0] != content))
        if progress and report.unchanged:
            progress(report.unchanged)
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start : start + self.batch_size]
            texts = [self.template.render(item) for item, _, embed in batch if embed]
            vectors = iter(self.embedder.embed(texts)) if texts else iter(())
            entries = [
                Entry(item, content, next(vectors) if embed else None)
                for item, content, embed in batch
            ]
            self.store.upsert(entries)
            report.embedded += len(texts)
            if progress:
                progress(len(batch))
        if delete_missing:
            keep = {item.id for item in items}
            report.deleted = self.store.delete([i for i in self.store.all_ids() if i not in keep])
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
        entries: list[Entry] = []
        for items in self.store.iter_items(self.batch_size):
            vectors = embedder.embed([self.template.render(item) for item in items])
            entries.extend(
                Entry(item, self.template.content_hash(item), vector)
                for item, vector in zip(items, vectors, strict=True)
            )
            if progress:
                progress(len(items))
        old = self.store.info
        assert old is not None
        info = StoreInfo(embedder.model_id, embedder.dim, old.metric, old.template)
        self.store.replace_all(info, entries)
        self._catalog_changed()
        self.embedder = self.personal.embedder = embedder
        return len(entries)

    def _catalog_changed(self) -> None:
        self.personal.cache.touch_all()
        self.similar_cache.touch_all()

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
        already recorded (a resend is a no-op).

        Types: view, click, like, dislike, purchase, skip, rating (value 1-5), dwell (value:
        seconds), and any type added to the `signals` setting.
        """
        record: dict[str, Any] = {"user_id": user_id, "item_id": item_id, "type": type}
        extra = {
            "value": value,
            "context": context,
            "timestamp": timestamp,
            "event_id": event_id,
            "recommendation_id": recommendation_id,
        }
        record.update({k: v for k, v in extra.items() if v is not None})
        return self.personal.record_many([record], prefix="").accepted == 1

    def record_many(self, events: Iterable[Event | Mapping[str, Any]]) -> RecordReport:
        """Record a batch in one transaction: all valid or nothing stored; idempotent by
        `event_id`. A bad event is named by its position (`events[3].type`)."""
        return self.personal.record_many(events)

    def record_event(self, event: Event | Mapping[str, Any]) -> RecordReport:
        """Record one event given as a record (the fields of :meth:`record`); a bad field is
        named as it is (`type`)."""
        return self.personal.record_many([event], prefix="")

    def check_events(self, events: Sequence[Event]) -> list[tuple[int, InvalidInput]]:
        """Every event that could not be recorded, by position, with why; nothing is written
        (a file import reports them all before it records any)."""
        return self.personal.problems(events)

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
    ) -> Recommendation:
        """Items for a user: nearest to their interest vector under `strategy` (dislike, ema,
        mean or momentum), or `hybrid`: content, collaborative (after :meth:`train`) and
        popular candidates blended by `weights` (default: the `hybrid_weights` setting), made
        varied at `diversity` (default: the setting) by the `diversity_method`.
        Popular items for a user with no profile. Default strategy from settings.

        Items the user already has events with are left out unless `include_seen`. With
        `track`, the impression (user, items, strategy, `context`, time) is logged under the
        recommendation's id; events that carry that id as `recommendation_id` are attributed
        to it in :meth:`ctr_report`.
        """
        started = time.perf_counter()
        _check_n(n)
        check_user_id(user_id)
        variant: str | None = None
        if strategy is None and weights is None and diversity is None:
            # How to recommend is not asked for: a running experiment decides, else the
            # promoted winner of the last one, else the settings.
            running = self.experiments.running()
            chosen = self.experiments.default()
            if running is not None:
                arm = running.assign(user_id)
                chosen, variant = arm.settings(), running.tag(arm)
            if chosen:
                strategy = chosen["strategy"]
                weights, diversity = chosen.get("weights"), chosen.get("diversity")
        rec = self.personal.recommend(
            user_id,
            n=n,
            strategy=strategy,
            where=where,
            exclude=exclude,
            include_seen=include_seen,
            context=context,
            weights=weights,
            diversity=diversity,
        )
        if variant is not None:
            rec = replace(rec, variant=variant)
        if track:
            items = [r.id for r in rec.items]
            shown_as = variant or rec.strategy
            ms = (time.perf_counter() - started) * 1000.0
            self.impressions.add(Impression(rec.id, user_id, shown_as, items, context or {}, ms=ms))
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
        if isinstance(items, str) or not all(isinstance(i, str) for i in items):
            raise InvalidInput("must be a list of item ids", field="items")
        rec_id = new_id()
        self.impressions.add(
            Impression(rec_id, user_id, strategy, list(items), context or {}, ms=ms)
        )
        return rec_id

    def create_experiment(
        self, name: str, variants: Sequence[str], *, split: str | None = None
    ) -> Experiment:
        """Start an A/B experiment: `variants` like `a:strategy=ema` or
        `b:strategy=hybrid,diversity=0.3`, shares like `50/50` (equal if None). Users are
        bucketed by id; one experiment runs at a time."""
        shares = parse_split(split, len(variants))
        arms = tuple(parse_variant(v, weight=w) for v, w in zip(variants, shares, strict=True))
        experiment = Experiment(name=check_name(name, "name"), variants=arms, started=time.time())
        self.experiments.add(experiment)
        self.personal.cache.touch_all()
        return experiment

    def list_experiments(self) -> list[Experiment]:
        """Every experiment, running or stopped, oldest first."""
        return self.experiments.all()

    def experiment_report(self, name: str) -> dict[str, Any]:
        """Per variant: lists shown, clicks, CTR (95% interval), conversions; each variant
        against the first by a two-proportion test."""
        experiment = self.experiments.get(name)
        rows = self.ctr_report(group_by="strategy", since=experiment.started)
        prefix = f"{name}:"
        counts = {
            r.group[len(prefix) :]: (r.impressions, r.clicks, r.conversions)
            for r in rows
            if r.group.startswith(prefix)
        }
        return experiment_report(experiment, counts)

    def stop_experiment(self, name: str, *, promote: str | None = None) -> Experiment:
        """Stop an experiment (lists go back to the default); with `promote`, that variant's
        settings become the default for requests that do not choose a strategy."""
        experiment = self.experiments.get(name).stop(time.time())
        default = None
        if promote is not None:
            arm = next((v for v in experiment.variants if v.name == promote), None)
            if arm is None:
                known = ", ".join(v.name for v in experiment.variants)
                raise InvalidInput(f"no variant {promote!r}; known: {known}", field="variant")
            experiment = replace(experiment, winner=promote)
            default = arm.settings()
        self.experiments.update(experiment, default)
        self.personal.cache.touch_all()
        return experiment

    def ctr_report(self, *, group_by: str = "strategy", since: float = 0.0) -> list[RateRow]:
        """Impressions, clicks, CTR, conversions and mean dwell per strategy, per day, or per
        `day,strategy` (groups named "YYYY-MM-DD STRATEGY"). Lists served by an experiment
        count under "EXPERIMENT:VARIANT"."""
        if group_by not in ("strategy", "day", "day,strategy"):
            raise InvalidInput("must be 'strategy', 'day' or 'day,strategy'", field="group_by")
        self.impressions.flush()
        tracking = self.settings.tracking
        return self.store.rate_rows(
            group_by, since, tracking.click_types, tracking.conversion_types
        )

    def activity_report(self, *, since: float = 0.0) -> dict[str, Any]:
        """Since `since`: events per UTC day and type, percentiles of the milliseconds each
        tracked list took (overall and per strategy or experiment variant), and catalog
        coverage (the share of items shown in at least one list)."""
        self.impressions.flush()
        return self.store.activity(since).as_dict(self.count())

    def forget_user(self, user_id: str) -> dict[str, int]:
        """Delete everything stored about a user: events, profile, snapshots, impressions."""
        check_user_id(user_id)
        self.impressions.flush()
        deleted = self.store.forget_user(user_id)
        self.personal.cache.touch_all()  # their events were in everyone's popular lists
        return deleted

    def profile(self, user_id: str, *, n: int = 5) -> dict[str, Any]:
        """A user's counts, settings and the `n` items nearest their interest vector."""
        _check_n(n)
        check_user_id(user_id)
        return self.personal.profile(user_id, n=n)

    def onboard(self, user_id: str, *, text: str | None = None, items: Sequence[str] = ()) -> None:
        """Start a new user from onboarding text ("space, cooking") and/or chosen items."""
        self.personal.onboard(user_id, text=text, items=items)

    def train(self, *, progress: Progress | None = None) -> int:
        """Fit the collaborative (item-item) model the `hybrid` strategy uses, from the event
        log; returns how many items it covers."""
        return self.personal.train(progress=progress)

    def rebuild_profiles(self, *, progress: Progress | None = None) -> int:
        """Replay the event log into fresh profiles; returns how many users were rebuilt."""
        return self.personal.rebuild(progress=progress)

    # -- reads ------------------------------------------------------------------------------

    def similar(
        self,
        item_id: str,
        *,
        n: int = 10,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
    ) -> list[Hit]:
        """The `n` items closest to `item_id` (never itself), passing `where`.

        Answers are kept in a cache of hot results until the catalog changes or
        `cache_seconds` pass.
        """
        _check_n(n)
        key = (item_id, n, where_key(where), tuple(exclude))
        hit = self.similar_cache.get("", key)
        if hit is not None:
            return list(hit)  # the caller may change its list, not the cached one
        version = self.similar_cache.version("")
        vector = self.store.vector(item_id)
        hits = self.store.search(vector, n=n, where=where, exclude=[item_id, *exclude])
        self.similar_cache.put("", key, list(hits), version)
        return hits

    def search(
        self,
        text: str,
        *,
        n: int = 10,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
    ) -> list[Hit]:
        """The `n` items whose content is closest to a free text query."""
        _check_n(n)
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
    ) -> list[Hit]:
        """The `n` items closest to a vector of the store's dimension."""
        _check_n(n)
        return self.store.search(
            np.asarray(vector, dtype=np.float32), n=n, where=where, exclude=exclude
        )

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

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray[Any, Any]]:
        """The stored vectors of the items among `ids`."""
        return self.store.vectors(ids)

    def ids(self) -> list[str]:
        """Every stored item id, sorted."""
        return self.store.all_ids()

    def collaborative(self) -> ItemItem | None:
        """The trained item-item model (None before the first :meth:`train`)."""
        return self.personal.collaborative

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

    def stats(self) -> dict[str, Any]:
        """Counts, model and sizes, and the hits and misses of the caches of hot results."""
        caches: dict[str, ResultCache[Any]] = {
            "recommend": self.personal.cache,
            "similar": self.similar_cache,
        }
        return {
            **self.store.stats(),
            "cache": {name: {"hits": c.hits, "misses": c.misses} for name, c in caches.items()},
        }

    def close(self) -> None:
        """Write queued impressions, save what makes the next open fast; unusable after."""
        try:
            self.impressions.close()
        finally:
            self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _validate(records: Iterable[Item | Mapping[str, Any]]) -> list[Item]:
    items: list[Item] = []
    seen: set[str] = set()
    for position, record in enumerate(records):
        try:
            item = parse_item(record)
        except InvalidInput as exc:
            field = f"items[{position}]" + (f".{exc.field}" if exc.field else "")
            raise InvalidInput(exc.reason, field=field) from None
        if item.id in seen:
            raise InvalidInput(f"duplicate id {item.id!r}", field=f"items[{position}].id")
        seen.add(item.id)
        items.append(item)
    return items


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_N:
        raise InvalidInput(f"must be an integer from 1 to {MAX_N}", field="n")


def _check_compatible(
    info: StoreInfo, embedder: Embedder, metric: str | None, template: str | None
) -> None:
    if embedder.model_id != info.model_id or embedder.dim != info.dim:
        raise ConfigError(
            f"the store holds {info.dim}-d vectors of model {info.model_id!r}, not "
            f"{embedder.model_id!r}; switch with `likewise reembed --model ...`"
        )
    if metric is not None and metric_of(metric) != info.metric:
        raise ConfigError(f"the store uses metric {info.metric!r}, not {metric!r}")
    if template is not None and str(ContentTemplate.parse(template)) != info.template:
        raise ConfigError(f"the store embeds template {info.template!r}, not {template!r}")
