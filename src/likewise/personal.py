"""Personalisation: events in, profiles updated, "for you" lists out.

The Engine delegates here; this module composes the store, the embedder and the pure profile
math in `likewise.profiles`, and knows nothing of HTTP or SQL.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from likewise.config import Settings
from likewise.embedders.base import Embedder
from likewise.errors import ConfigError, Conflict, InvalidInput
from likewise.events.model import Event, check_user_id, parse_event, to_epoch
from likewise.profiles import (
    STRATEGIES,
    ProfileState,
    Snapshot,
    Step,
    apply,
    mean,
    momentum,
)
from likewise.profiles.strategies import Vector
from likewise.ranking import ResultCache, blend, cap, decay, mmr
from likewise.ranking.context import parse_rules, with_clock
from likewise.retrieval import ItemItem
from likewise.store import Hit, Store

__all__ = ["Personaliser", "Recommendation", "Recommended", "RecordReport"]

Progress = Callable[[int], object]
RECOMMENDERS = (*STRATEGIES, "hybrid")  # profile strategies, and the blend of sources
POOL = 3  # candidates per slot each source offers the blend (and MMR)
COLLABORATIVE = "item-item"  # the store blob of the trained model


@dataclass(frozen=True)
class Recommended:
    """One recommended item; `because` is the liked item that explains it, if any."""

    id: str
    score: float
    reason: str
    because: str | None = None


@dataclass(frozen=True)
class Recommendation:
    """A ranked list for a user, with the strategy that made it and an id to track it by."""

    user_id: str
    strategy: str
    items: list[Recommended]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    cached: bool = False  # served from the cache of hot results (a new id all the same)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RecordReport:
    """`accepted` events were appended; `duplicates` had an `event_id` already stored."""

    accepted: int = 0
    duplicates: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Personaliser:
    """Events, profiles and recommendations over one store."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.config = settings.profile_config()
        self.rules = settings.signal_rules()
        try:
            self.strategy = _strategy(settings.strategy)
        except InvalidInput as exc:
            raise ConfigError(f"setting strategy: {exc.reason}") from None
        self.cache: ResultCache[Recommendation] = ResultCache(
            size=settings.cache_size, ttl=settings.cache_seconds
        )
        self.weights = dict(settings.hybrid_weights)
        self.context_rules = parse_rules(settings.context_rules)
        self.trending = settings.popular_by == "trending"
        self.rest_after = settings.rest_after
        self.fresh_days = settings.fresh_days
        self.half_life = settings.freshness_half_life_days * 86_400
        self.freshness_shape = settings.freshness_shape
        self.category_cap = settings.category_cap
        self.category_field = settings.category_field
        self.exploration = settings.exploration
        self.diversity = settings.diversity
        self._collaborative: ItemItem | None = None

    # -- events -----------------------------------------------------------------------------

    def record_many(
        self, records: Iterable[Event | Mapping[str, Any]], *, prefix: str = "events"
    ) -> RecordReport:
        """Validate every event first (nothing is stored if one is bad), then append them."""
        events, signals, vectors = self._prepare(records, prefix)

        def update(
            state: ProfileState, todo: Sequence[tuple[Event, float]]
        ) -> tuple[ProfileState, list[Snapshot]]:
            steps = [Step(e.item_id, vectors[e.item_id], s, e.timestamp) for e, s in todo]
            return apply(state, steps, self.config)

        accepted = self.store.record(events, signals, update)
        self.cache.touch_user(*{e.user_id for e, new in zip(events, accepted, strict=True) if new})
        return RecordReport(sum(accepted), len(accepted) - sum(accepted))

    def problems(self, events: Sequence[Event]) -> list[tuple[int, InvalidInput]]:
        """Every event that could not be recorded, by position (a file import reports all)."""
        found = self.store.vectors(list({e.item_id: None for e in events}))
        out: list[tuple[int, InvalidInput]] = []
        for position, event in enumerate(events):
            try:
                self._check(event, found)
            except InvalidInput as exc:
                out.append((position, exc))
        return out

    def _check(self, event: Event, vectors: Mapping[str, Vector]) -> float:
        signal = self.rules.signal(event)
        if event.item_id not in vectors:
            raise InvalidInput(f"unknown item {event.item_id!r}", field="item_id")
        return signal

    def _prepare(
        self, records: Iterable[Event | Mapping[str, Any]], prefix: str
    ) -> tuple[list[Event], list[float], dict[str, Vector]]:
        events: list[Event] = []
        for position, record in enumerate(records):
            try:
                events.append(parse_event(record))
            except InvalidInput as exc:
                raise InvalidInput(exc.reason, field=_field(prefix, position, exc.field)) from None
        vectors = self.store.vectors(list({e.item_id: None for e in events}))
        signals: list[float] = []
        for position, event in enumerate(events):
            try:
                signals.append(self._check(event, vectors))
            except InvalidInput as exc:
                raise InvalidInput(exc.reason, field=_field(prefix, position, exc.field)) from None
        return events, signals, vectors

    def onboard(self, user_id: str, *, text: str | None = None, items: Sequence[str] = ()) -> None:
        """Start a new user's profile from onboarding text and/or chosen items."""
        check_user_id(user_id)
        parts: list[Vector] = []
        if text is not None:
            if not isinstance(text, str) or not text.strip():
                raise InvalidInput("must be a non-empty string", field="text")
            parts.append(self.embedder.embed([text])[0])
        found = self.store.vectors(items)
        for item_id in items:
            if item_id not in found:
                raise InvalidInput(f"unknown item {item_id!r}", field="items")
            parts.append(found[item_id])
        seed = mean(np.stack(parts)) if parts else None
        if seed is None:
            raise InvalidInput("give onboarding text or at least one item", field="text")
        old = self.store.profile(user_id)
        if old is not None and old.positives:
            raise Conflict(
                f"user {user_id!r} already has {old.positives} positive events; onboarding "
                "is for new users",
                field="user_id",
            )
        state = ProfileState.seeded(user_id, seed)
        if old is not None:
            state.events, state.negatives, state.updated_at = (
                old.events,
                old.negatives,
                old.updated_at,
            )
        self.store.put_profiles([(state, [])], replace=False)
        self.cache.touch_user(user_id)

    def rebuild(self, *, progress: Progress | None = None) -> int:
        """Recompute every profile by replaying the event log; returns the users rebuilt.

        Run it after changing alpha, beta or the signal mapping, or after `reembed`. Events
        recorded while it runs are overwritten; events on deleted items are skipped.
        """
        states: dict[str, ProfileState] = {}
        taken: dict[str, list[Snapshot]] = {}
        for page in self.store.events():
            vectors = self.store.vectors(list({e.item_id: None for e, _ in page}))
            for event, signal in page:
                user = event.user_id
                if user not in states:
                    old = self.store.profile(user)
                    states[user] = ProfileState.seeded(user, old.seed if old else None)
                    taken[user] = []
                if event.item_id not in vectors:
                    continue
                step = Step(event.item_id, vectors[event.item_id], signal, event.timestamp)
                states[user], snaps = apply(states[user], [step], self.config)
                taken[user] += snaps
            if progress:
                progress(len(page))
        self.store.put_profiles([(s, taken[u]) for u, s in states.items()], replace=True)
        self.cache.touch_all()
        return len(states)

    # -- reads ------------------------------------------------------------------------------

    def recommend(
        self,
        user_id: str,
        *,
        n: int,
        strategy: str | None = None,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        include_seen: bool = False,
        context: Mapping[str, Any] | None = None,
    ) -> Recommendation:
        """Nearest items to the user's interest vector, or popular ones without a profile.

        Context rules that apply to `context` (with the clock's `daypart` and `weekday`)
        filter the list and boost items in personal lists. A repeated request is answered
        from the cache of hot results until the user records an event, the catalog changes,
        or `cache_seconds` pass.
        """
        name = self.strategy if strategy is None else _strategy(strategy)
        active = [r for r in self.context_rules if r.applies(with_clock(context or {}))]
        for rule in active:
            if rule.filter is not None:
                where = {"$and": [where, rule.filter]} if where else rule.filter
        boosts = [(r.boost, r.weight) for r in active if r.boost is not None and r.weight]
        key = (user_id, n, name, _key(where), tuple(exclude), include_seen, _key({"b": boosts}))
        # Resting items depends on every list shown, so it bypasses the cache.
        hit = None if self.rest_after else self.cache.get(user_id, key)
        if hit is not None:
            return Recommendation(user_id, hit.strategy, hit.items, cached=True)
        version = self.cache.version(user_id)
        if self.rest_after:
            counts = self.store.shown(user_id)
            exclude = [*exclude, *(i for i, c in counts.items() if c >= self.rest_after)]
        rec = self._recommend(user_id, n, name, where, exclude, include_seen, boosts)
        if self.exploration and rec.items:
            rec = self._explore(rec, n, where, exclude, include_seen)
        self.cache.put(user_id, key, rec, version)
        return rec

    def _recommend(
        self,
        user_id: str,
        n: int,
        name: str,
        where: Mapping[str, Any] | None,
        exclude: Sequence[str],
        include_seen: bool,
        boosts: Sequence[tuple[Mapping[str, Any], float]] = (),
    ) -> Recommendation:
        state = self.store.profile(user_id)
        skip = list(exclude) if include_seen else [*exclude, *self.store.seen(user_id)]
        cache: dict[str, Vector] = {}
        profile = "dislike" if name == "hybrid" else name
        vector = None if state is None else self.interest(state, profile, cache)
        if vector is None or state is None:
            hits = self.store.popular(n=n, where=where, exclude=skip, trending=self.trending)
            items = [Recommended(h.id, h.score, "popular" if h.score > 0 else "new") for h in hits]
            return Recommendation(user_id, "popular", items)
        if name != "hybrid":
            hits = self.store.search(vector, n=POOL * n if boosts else n, where=where, exclude=skip)
            scores = self._boost({h.id: h.score for h in hits}, boosts)
            ranked = sorted(scores, key=lambda i: (-scores[i], i))[:n]
            top = [Hit(i, scores[i]) for i in ranked]
            return Recommendation(user_id, name, self._explain(state, top, cache))
        hits = self.store.search(vector, n=POOL * n, where=where, exclude=skip)
        items = self._hybrid(state, hits, n, where, skip, cache, boosts)
        return Recommendation(user_id, name, items)

    def _explore(
        self,
        rec: Recommendation,
        n: int,
        where: Mapping[str, Any] | None,
        exclude: Sequence[str],
        include_seen: bool,
    ) -> Recommendation:
        """Give the last `exploration` share of the slots to popular items the list does not
        hold, drawn with a seed of (user, day): the same page reloads the same way."""
        slots = max(1, round(self.exploration * n))
        keep = rec.items[: max(0, len(rec.items) - slots)]
        skip = [*exclude, *(r.id for r in keep)]
        if not include_seen:
            skip += self.store.seen(rec.user_id)
        pool = self.store.popular(n=10 * slots, where=where, exclude=skip, trending=self.trending)
        day = int(time.time() // 86_400)
        rng = random.Random(hashlib.sha256(f"{rec.user_id}:{day}".encode()).digest())
        picks = rng.sample(pool, min(slots, len(pool)))
        extra = [Recommended(h.id, h.score, "explore") for h in picks]
        return Recommendation(rec.user_id, rec.strategy, [*keep, *extra], rec.id)

    def _boost(
        self, scores: dict[str, float], boosts: Sequence[tuple[Mapping[str, Any], float]]
    ) -> dict[str, float]:
        """Add each context boost's weight to the items matching its filter."""
        for where, weight in boosts:
            for item in self.store.matching(list(scores), where):
                scores[item] += weight
        return scores

    def _hybrid(
        self,
        state: ProfileState,
        content: list[Hit],
        n: int,
        where: Mapping[str, Any] | None,
        skip: Sequence[str],
        cache: dict[str, Vector],
        boosts: Sequence[tuple[Mapping[str, Any], float]] = (),
    ) -> list[Recommended]:
        """Blend content, collaborative and popular candidates (min-max, weighted); each item
        keeps the reason of the source that gave it the most."""
        weights = self.weights
        sources: dict[str, dict[str, float]] = {"content": {h.id: h.score for h in content}}
        model = self.collaborative
        if model is not None and weights.get("collaborative"):
            scored = model.scores(state.recent, exclude=skip)
            best = sorted(scored, key=lambda i: (-scored[i], i))[: 2 * POOL * n]
            kept = self.store.matching(best, where)[: POOL * n]
            sources["collaborative"] = {i: scored[i] for i in kept}
        if weights.get("popular"):
            popular = self.store.popular(
                n=POOL * n, where=where, exclude=skip, trending=self.trending
            )
            sources["popular"] = {h.id: h.score for h in popular if h.score > 0}
        if weights.get("fresh") and state.interest is not None:
            since = datetime.fromtimestamp(time.time() - self.fresh_days * 86_400, UTC)
            recent = {"published_at": {"gte": since.isoformat()}}
            fresh_where = {"$and": [where, recent]} if where else recent
            hits = self.store.search(state.interest, n=POOL * n, where=fresh_where, exclude=skip)
            sources["fresh"] = {h.id: h.score for h in hits}
        fused = self._boost(blend.weighted(sources, weights), boosts)
        ranked = sorted(fused, key=lambda i: (-fused[i], i))
        if self.half_life or self.category_cap:
            ranked = self._age_and_cap(ranked[: POOL * n], fused)
        if self.diversity > 0:
            pool = ranked[: POOL * n]
            found = self.store.vectors(pool)
            pool = [i for i in pool if i in found]
            rows = np.stack([found[i] for i in pool]) if pool else np.zeros((0, 1), np.float32)
            relevance = [fused[i] for i in pool]
            ranked = mmr(pool, relevance, rows, n=n, diversity=self.diversity)
        chosen = [Hit(i, fused[i]) for i in ranked[:n]]
        normal = {name: blend.minmax(scores) for name, scores in sources.items()}

        def strongest(item: str) -> str:
            return max(normal, key=lambda s: weights.get(s, 0.0) * normal[s].get(item, -1.0))

        explained = self._explain(state, chosen, cache)
        return [
            r if strongest(r.id) != "popular" else Recommended(r.id, r.score, "popular")
            for r in explained
        ]

    def _age_and_cap(self, pool: list[str], fused: dict[str, float]) -> list[str]:
        """Weigh `fused` by the freshness decay of `published_at`, re-rank, then cap each
        `category_field` value at `category_cap` items (0: no cap)."""
        items = {item.id: item.metadata for item in self.store.get(pool)}
        if self.half_life:
            now = time.time()
            for item_id in pool:
                published = items.get(item_id, {}).get("published_at")
                try:
                    age = now - to_epoch(published) if isinstance(published, str) else None
                except ValueError:
                    age = None  # not a date: no decay
                if isinstance(published, int | float) and not isinstance(published, bool):
                    age = now - float(published)
                if age is not None:
                    fused[item_id] *= decay(age, self.half_life, shape=self.freshness_shape)
            pool = sorted(pool, key=lambda i: (-fused[i], i))
        if self.category_cap:
            field = self.category_field
            categories = {i: _text(items.get(i, {}).get(field)) for i in pool}
            pool = cap(pool, categories, self.category_cap)
        return pool

    # -- training ---------------------------------------------------------------------------

    def train(self, *, k: int = 100, progress: Progress | None = None) -> int:
        """Fit item-item co-occurrence from every user's positive events; returns the items
        it knows. Run it as events accumulate (`likewise train`); it is kept in the store."""
        histories: dict[str, list[str]] = {}
        for page in self.store.events():
            for event, signal in page:
                if signal > 0:
                    history = histories.setdefault(event.user_id, [])
                    if event.item_id in history:
                        history.remove(event.item_id)
                    history.append(event.item_id)
            if progress:
                progress(len(page))
        model = ItemItem.fit(list(histories.values()), k=k)
        self.store.put_blob(COLLABORATIVE, model.to_bytes())
        self._collaborative = model
        self.cache.touch_all()
        return len(model.items)

    @property
    def collaborative(self) -> ItemItem | None:
        """The trained item-item model (None before the first `train`)."""
        if self._collaborative is None:
            data = self.store.get_blob(COLLABORATIVE)
            if data is not None:
                self._collaborative = ItemItem.from_bytes(data)
        return self._collaborative

    def interest(
        self, state: ProfileState, strategy: str, cache: dict[str, Vector] | None = None
    ) -> Vector | None:
        """The vector a strategy recommends from (None: nothing to go on yet); item vectors
        it reads are left in `cache`."""
        if strategy == "ema":
            return state.ema
        if strategy == "mean":
            ids = state.recent[-self.config.mean_n :]
            found = self.store.vectors(ids)
            if cache is not None:
                cache.update(found)
            rows = [found[i] for i in ids if i in found]
            return mean(np.stack(rows)) if rows else state.seed
        if strategy == "momentum":
            snaps = self.store.snapshots(state.user_id, self.config.history)
            projected = momentum(np.stack([s.vector for s in snaps])) if snaps else None
            return state.interest if projected is None else projected
        return state.interest

    def _explain(
        self, state: ProfileState, hits: list[Hit], cache: dict[str, Vector]
    ) -> list[Recommended]:
        """Each hit's reason: the liked item nearest to it (one lookup for all vectors)."""
        cache.update(
            self.store.vectors([i for i in state.recent if i not in cache] + [h.id for h in hits])
        )
        liked = [i for i in state.recent if i in cache]
        if not liked or not hits:
            return [Recommended(h.id, h.score, "matches your interests") for h in hits]
        sims = np.stack([cache[h.id] for h in hits]) @ np.stack([cache[i] for i in liked]).T
        because = [liked[int(j)] for j in sims.argmax(axis=1)]
        titles = self.store.titles(list(set(because)))
        return [
            Recommended(h.id, h.score, f"because you liked {titles.get(b) or b!r}", b)
            for h, b in zip(hits, because, strict=True)
        ]

    def profile(self, user_id: str, *, n: int = 5) -> dict[str, Any]:
        """What likewise knows of a user: counts, settings and the items nearest their taste."""
        state = self.store.profile(user_id)
        if state is None:
            return {"user_id": user_id, "events": 0, "strategy": "popular", "nearest": []}
        vector = self.interest(state, self.strategy)
        nearest = self.store.search(vector, n=n) if vector is not None else []
        snapshots = self.store.snapshots(user_id, self.config.history)
        return {
            "user_id": user_id,
            "events": state.events,
            "positives": state.positives,
            "negatives": state.negatives,
            "updated_at": state.updated_at,
            "strategy": self.strategy if vector is not None else "popular",
            "settings": asdict(self.config),
            "onboarded": state.seed is not None,
            "recent_positives": state.recent[-10:],
            "snapshots_used": len(snapshots),
            "nearest": [{"id": h.id, "score": h.score} for h in nearest],
        }


def _text(value: Any) -> str | None:
    return None if value is None or isinstance(value, list | dict) else str(value)


def _key(where: Mapping[str, Any] | None) -> str:
    return json.dumps(where, sort_keys=True, default=str) if where else ""


def _field(prefix: str, position: int, name: str | None) -> str:
    return f"{prefix}[{position}].{name or ''}".rstrip(".") if prefix else name or ""


def _strategy(name: str) -> str:
    if name not in RECOMMENDERS:
        raise InvalidInput(f"unknown {name!r}; known: {', '.join(RECOMMENDERS)}", field="strategy")
    return name
