"""Recommending: the "for you" half of the Personaliser (a mixin).

Profile strategies search near the user's interest vector; `hybrid` blends content,
collaborative, popular and fresh candidates; context rules filter and boost; resting,
exploration and the cache of hot results shape what is served. The pure pieces live in
`likewise.profiles` and `likewise.ranking`.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from likewise.errors import InvalidInput
from likewise.filters import parse_date
from likewise.profiles import STRATEGIES, ProfileConfig, ProfileState, mean, momentum
from likewise.profiles.strategies import Vector
from likewise.ranking import ResultCache, blend, cap, decay, rotate
from likewise.ranking.cache import where_key
from likewise.ranking.context import ContextRule, with_clock
from likewise.retrieval import ItemItem
from likewise.store import Hit, Store

__all__ = [
    "POOL",
    "RECOMMENDERS",
    "Recommendation",
    "Recommended",
    "Recommender",
    "check_strategy",
]

RECOMMENDERS = (*STRATEGIES, "hybrid")  # profile strategies, and the blend of sources
POOL = 3  # candidates per slot each source offers the blend (and MMR)


_ids = random.Random()  # seeded from the OS; reseeded in a forked child (see below)
os.register_at_fork(after_in_child=_ids.seed)


def new_id() -> str:
    """128 random bits as 32 hex digits, like `uuid4().hex`. Not for secrets: `uuid4` reads
    os.urandom, which releases the GIL on every call, and on a busy server the impression
    writer thread then holds the request up for a switch interval."""
    return f"{_ids.getrandbits(128):032x}"


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
    id: str = field(default_factory=lambda: new_id())
    cached: bool = False  # served from the cache of hot results (a new id all the same)
    variant: str | None = None  # EXPERIMENT:VARIANT when an experiment chose how to recommend

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Recommender:
    """Needs the Personaliser's store, settings-derived attributes and `collaborative`."""

    store: Store
    config: ProfileConfig
    cache: ResultCache[Recommendation]
    strategy: str
    weights: dict[str, float]
    context_rules: list[ContextRule]
    trending: bool
    rest_after: int
    exploration: float
    diversity: float
    diversify: Callable[..., list[str]]
    rotation: bool
    fresh_days: float
    half_life: float
    freshness_shape: str
    category_cap: int
    category_field: str

    @property
    def collaborative(self) -> ItemItem | None:
        raise NotImplementedError

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
        weights: Mapping[str, float] | None = None,
        diversity: float | None = None,
    ) -> Recommendation:
        """Nearest items to the user's interest vector, or popular ones without a profile.

        Context rules that apply to `context` (with the clock's `daypart` and `weekday`)
        filter the list and boost items in personal lists. `weights` and `diversity` replace
        the settings' `hybrid_weights` and `diversity` for this request. A repeated request is
        answered from the cache of hot results until the user records an event, the catalog
        changes, or `cache_seconds` pass.
        """
        name = self.strategy if strategy is None else check_strategy(strategy)
        tuning = Tuning(
            self.weights if weights is None else check_weights(weights),
            self.diversity if diversity is None else check_diversity(diversity),
        )
        active = [r for r in self.context_rules if r.applies(with_clock(context or {}))]
        for rule in active:
            if rule.filter is not None:
                where = {"$and": [where, rule.filter]} if where else rule.filter
        boosts = [(r.boost, r.weight) for r in active if r.boost is not None and r.weight]
        key = (
            user_id,
            n,
            name,
            where_key(where),
            tuple(exclude),
            include_seen,
            where_key({"b": boosts}) if boosts else "",  # no JSON work on the common path
            "" if weights is None else where_key(tuning.weights),
            diversity,
        )
        # Resting items depends on every list shown, so it bypasses the cache.
        hit = None if self.rest_after else self.cache.get(user_id, key)
        if hit is not None:
            return Recommendation(user_id, hit.strategy, hit.items, cached=True)
        version = self.cache.version(user_id)
        if self.rest_after:
            counts = self.store.shown(user_id)
            exclude = [*exclude, *(i for i, c in counts.items() if c >= self.rest_after)]
        rec = self._recommend(user_id, n, name, where, exclude, include_seen, boosts, tuning)
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
        tuning: Tuning | None = None,
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
        tuning = tuning or Tuning(self.weights, self.diversity)
        items = self._hybrid(state, hits, n, where, skip, cache, boosts, tuning)
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
        boosts: Sequence[tuple[Mapping[str, Any], float]],
        tuning: Tuning,
    ) -> list[Recommended]:
        """Blend content, collaborative and popular candidates (min-max, weighted); each item
        keeps the reason of the source that gave it the most."""
        weights = tuning.weights
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
        if tuning.diversity > 0:
            pool = ranked[: POOL * n]
            found = self.store.vectors(pool)
            cache.update(found)  # the explanation below reads them again
            pool = [i for i in pool if i in found]
            rows = np.stack([found[i] for i in pool]) if pool else np.zeros((0, 1), np.float32)
            relevance = [fused[i] for i in pool]
            ranked = self.diversify(pool, relevance, rows, n=n, diversity=tuning.diversity)
        if self.rotation:
            records = {item.id: item.metadata for item in self.store.get(ranked[:n])}
            field = self.category_field
            ranked = rotate(
                ranked[:n], {i: _text(records.get(i, {}).get(field)) for i in ranked[:n]}
            )
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
                stamp = _epoch(items.get(item_id, {}).get("published_at"))
                if stamp is not None:  # no date, no decay
                    fused[item_id] *= decay(now - stamp, self.half_life, shape=self.freshness_shape)
            pool = sorted(pool, key=lambda i: (-fused[i], i))
        if self.category_cap:
            field = self.category_field
            categories = {i: _text(items.get(i, {}).get(field)) for i in pool}
            pool = cap(pool, categories, self.category_cap)
        return pool

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


def _epoch(value: Any) -> float | None:
    """A `published_at` as epoch seconds: an ISO date string (read as `where` reads dates) or a
    number; None otherwise."""
    if isinstance(value, str):
        return parse_date(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _text(value: Any) -> str | None:
    return None if value is None or isinstance(value, list | dict) else str(value)


SOURCES = ("content", "collaborative", "popular", "fresh")


@dataclass(frozen=True)
class Tuning:
    """How `hybrid` blends and diversifies: from settings, or given with one request."""

    weights: Mapping[str, float]
    diversity: float


def check_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Blend weights by source name, or InvalidInput naming `weights` and the reason."""
    if not isinstance(weights, Mapping):
        raise InvalidInput("must be an object of source: weight", field="weights")
    out = {}
    for name, value in weights.items():
        if name not in SOURCES:
            known = ", ".join(SOURCES)
            raise InvalidInput(f"unknown source {name!r}; known: {known}", field="weights")
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise InvalidInput(f"{name}: must be a number >= 0", field=f"weights.{name}")
        if value == float("inf"):
            raise InvalidInput(f"{name}: must be finite", field=f"weights.{name}")
        out[name] = float(value)
    return out


def check_diversity(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidInput("must be a number within [0, 1]", field="diversity")
    return float(value)


def check_strategy(name: str) -> str:
    """A known strategy name, or InvalidInput naming `strategy`."""
    if name not in RECOMMENDERS:
        raise InvalidInput(f"unknown {name!r}; known: {', '.join(RECOMMENDERS)}", field="strategy")
    return name
