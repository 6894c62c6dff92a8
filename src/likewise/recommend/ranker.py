"""The Ranker: one "for you" request, from the cache of hot results to the explained list."""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from likewise.config import REASONS_MAX, ProfileConfig, RankingConfig
from likewise.errors import ConfigError, Conflict, InvalidInput
from likewise.filters import parse_where
from likewise.profiles import ProfileState
from likewise.profiles.strategies import Vector
from likewise.ranking import ResultCache
from likewise.ranking.cache import where_key
from likewise.ranking.context import applied, parse_rules
from likewise.recommend import hybrid
from likewise.recommend.exploring import explore
from likewise.recommend.hybrid import Boosts
from likewise.recommend.interest import interest
from likewise.recommend.lookup import Lookup
from likewise.recommend.model import (
    POOL,
    Recommendation,
    Recommended,
    Tuning,
    check_diversity,
    check_strategy,
    check_weights,
)
from likewise.recommend.reasons import explain
from likewise.recommend.session import Examples, best_scores
from likewise.recommend.sources import Query, Sources
from likewise.recommend.spaces import blended, checked_blend, query_of, tastes
from likewise.retrieval.models import BEHAVIOUR, Models
from likewise.store import Store
from likewise.store.base import TEXT, Fetched

__all__ = ["DEFAULT_WEIGHTS", "Ranker"]

log = logging.getLogger(__name__)
UNTRAINED = (
    "hybrid before any `likewise train`: its learned sources (collaborative, ease, sequential, "
    "behaviour) are empty, so lists come from content (and popularity) alone"
)

# The hybrid's weights when neither the settings nor a tuned model give any.
DEFAULT_WEIGHTS = {"collaborative": 1.0, "content": 0.5}


class Ranker:
    """Makes "for you" lists: a profile strategy's nearest items, or `hybrid`'s blend.

    Built from the store, the ranking config, the profile config (the profile strategies'
    math) and the candidate sources. An uncached list reads the user once (profile and seen
    items) and asks each source it needs once. A hybrid list then reads every candidate's
    vector, fields and title with one `Store.fetch`, which the `where` checks, boosts,
    freshness, caps, rotation, diversity and reasons share; a profile list, whose search
    applied `where` already, reads vectors and the titles its reasons name.

    Example:
        >>> sources = default_sources(store, settings.ranking, lambda: None)
        >>> ranker = Ranker(store, settings.ranking, settings.profiles, sources)
        >>> ranker.recommend("u1", n=10, strategy="hybrid").items
    """

    def __init__(
        self,
        store: Store,
        config: RankingConfig,
        profiles: ProfileConfig,
        sources: Sources,
        models: Callable[[], Models | None] = lambda: None,
    ) -> None:
        try:
            check_strategy(config.strategy)
        except InvalidInput as exc:
            raise ConfigError(f"setting strategy: {exc.reason}") from None
        self.store = store
        self.config = config
        self.profiles = profiles
        self.sources = sources
        self.models = models
        self.rules = parse_rules(config.context_rules)
        self._said_untrained = False
        self.cache: ResultCache[Recommendation] = ResultCache(
            size=config.cache_size, ttl=config.cache_seconds
        )

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
        space: str = TEXT,
        offset: int = 0,
        spaces: Mapping[str, float] | None = None,
        on_mark: Callable[[int], object] | None = None,
    ) -> Recommendation:
        """Nearest items to the user's interest vector, or popular ones without a profile.
        The page of `n` after the first `offset` of the ranking (`Recommendation.offset`).

        A profile strategy searches around the user's profile in `space` (`text`, or
        `behaviour` once a model is trained, or any other space: then as `spaces` of it
        alone); `spaces` blends several by weight (see `recommend.spaces`). The hybrid's
        weights default to the `hybrid_weights` setting, else those `train --tune` stored
        with the model.

        Context rules that apply to `context` (with the clock's `daypart` and `weekday`)
        filter the list and boost items in personal lists. `weights` and `diversity` replace
        the settings' `hybrid_weights` and `diversity` for this request. A repeated request is
        answered from the cache of hot results until the user records an event, the catalog
        changes, any process forgets a user (the store's forget mark, read before the lookup),
        or `cache_seconds` pass. With the cache off, an uncached list builds no key.
        `on_mark` is told the forget mark the list is begun at (its impression's): the one
        read for the cache, else the one read with the user.
        """
        config = self.config
        name = config.strategy if strategy is None else check_strategy(strategy)
        tuned = weights is not None or diversity is not None
        if tuned and strategy is None:
            name = "hybrid"  # blend weights or a diversity ask for the blend
        for given, field in ((weights, "weights"), (diversity, "diversity")):
            if given is not None and name != "hybrid":
                raise InvalidInput(f"applies to strategy=hybrid only, not {name}", field=field)
        if space != TEXT and name in ("hybrid", "popular"):
            raise InvalidInput(
                f"a space applies to the profile strategies, not {name}", field="space"
            )
        known = self.sources.blend
        if name == "hybrid" and not self._said_untrained and self.models() is None:
            self._said_untrained = True  # once a process: it holds until a train
            log.info(UNTRAINED)
        if spaces is not None or space not in (TEXT, BEHAVIOUR):
            spaces, space = checked_blend(name, space, spaces, self.store.spaces()), TEXT
        if space == BEHAVIOUR and not self._learned():  # valid, but not servable yet: 409
            raise Conflict("no behaviour model yet: run `train` first", field="space")
        # Only the blend reads its tuning (the checks above refused it for the others).
        tuning = None
        if name == "hybrid":
            tuning = Tuning(
                self.weights() if weights is None else check_weights(weights, known),
                config.diversity if diversity is None else check_diversity(diversity),
                fill=weights is None and config.hybrid_weights is None,
            )
        where, boosts = applied(self.rules, context, where)
        cache = self.cache
        key: tuple[Hashable, ...] = ()
        version, mark = None, None
        if cache.enabled and not config.rest_after:  # resting depends on every list shown
            key = (
                user_id,
                n,
                offset,
                name,
                where_key(where),
                tuple(exclude),
                include_seen,
                where_key({"b": boosts}) if boosts else "",  # no JSON work on the common path
                "" if tuning is None or weights is None else where_key(tuning.weights),
                diversity,
                space,
                tuple(sorted(spaces.items())) if spaces else (),
            )
            mark = self.store.forget_mark()
            hit = cache.get(user_id, key, stamp=mark)
            if hit is not None:
                if on_mark is not None:
                    on_mark(mark)
                return Recommendation(user_id, hit.strategy, hit.items, cached=True, offset=offset)
            version = cache.version(user_id, stamp=mark)
        if config.rest_after:
            counts = self.store.shown(user_id)
            exclude = [*exclude, *(i for i, c in counts.items() if c >= config.rest_after)]
        state, seen, read = self.store.user(user_id, space=space if name != "hybrid" else TEXT)
        if on_mark is not None:
            on_mark(read if mark is None else mark)
        seen = [] if include_seen else seen
        skip = [*exclude, *seen]
        rec = self._rank(user_id, n + offset, name, where, skip, state, boosts, tuning, spaces)
        # Exploration takes the last slots of the first page; later pages go on from the
        # ranked items it displaced (for pages of the same `n`), so none is skipped.
        slots = max(1, round(config.exploration * n)) if config.exploration else 0
        start = max(0, offset - slots) if offset else 0
        items = rec.items[start : start + n]
        rec = Recommendation(rec.user_id, rec.strategy, items, rec.id, offset=offset)
        if slots and not offset and rec.items:
            rec = explore(rec, n, slots, where, exclude, seen, self.sources.explore)
        if version is not None:
            cache.put(user_id, key, rec, version)
        return rec

    def from_examples(
        self,
        examples: Examples,
        *,
        n: int,
        strategy: str,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        user_id: str = "",
        context: Mapping[str, Any] | None = None,
        space: str = TEXT,
    ) -> Recommendation:
        """A list for no stored user, from the items or vectors a session gave (see
        `recommend.session`): the same sources, context rules, filters, blend and reasons as
        a user's (`best_score` ranks by its own scores: the rules' boosts do not apply).
        The examples' vectors are of `space`, searched there (not with `hybrid`, whose
        sources are text's and the trained models')."""
        skip = [*exclude, *examples.given]
        where, boosts = applied(self.rules, context, where)
        if strategy == "best_score":
            return Recommendation(user_id, strategy, self._best(examples, n, where, skip, space))
        vector = examples.average(self.profiles.beta)
        if space != TEXT:
            query = Query(user_id, POOL * n if boosts else n, None, examples.liked, where, skip)
            near = {space: query_of(space, vector)}
            nearest = blended(self.store, near, {space: 1.0}, n=query.n, where=where, exclude=skip)
            return Recommendation(user_id, strategy, self._shaped(nearest, query, n, boosts))
        if strategy == "hybrid":
            learned = self._learned() and examples.liked
            found = self.store.vectors(examples.liked, space=BEHAVIOUR) if learned else {}
            taste = np.mean(list(found.values()), axis=0) if found else None
            query = Query(user_id, POOL * n, vector, examples.liked, where, skip, taste)
            fill = self.config.hybrid_weights is None
            tuning = Tuning(self.weights(), self.config.diversity, fill=fill)
            return Recommendation(user_id, strategy, self._blend(query, n, boosts, tuning))
        also = None if boosts else examples.liked[-REASONS_MAX:]  # read with the hits
        size = POOL * n if boosts else n
        query = Query(user_id, size, vector, examples.liked, where, skip, also=also)
        return Recommendation(user_id, strategy, self._nearest(query, n, boosts))

    def _best(
        self,
        examples: Examples,
        n: int,
        where: Mapping[str, Any] | None,
        skip: Sequence[str],
        space: str = TEXT,
    ) -> list[Recommended]:
        """`best_score`: the neighbours in `space` of every positive, scored by
        `best_scores`."""
        pool: dict[str, None] = {}
        for vector in examples.positive:
            near = query_of(space, vector)
            hits = self.store.search(near, n=POOL * n, where=where, exclude=skip, space=space)
            pool.update(dict.fromkeys(h.id for h in hits))
        lookup = Lookup.fetch(self.store, [*pool, *examples.liked[-REASONS_MAX:]], ())
        found = lookup.vectors(pool) if space == TEXT else self.store.vectors([*pool], space=space)
        scores = best_scores(found, examples)
        ranked = sorted(scores, key=lambda i: (-scores[i], i))[:n]
        return explain(examples.liked[-REASONS_MAX:], [(i, scores[i]) for i in ranked], lookup)

    def weights(self) -> dict[str, float]:
        """The hybrid's weights: the setting, else the tuned model's, else the defaults."""
        given = self.config.hybrid_weights
        if given is not None:
            return dict(given)
        models = self.models()
        return dict((models.weights if models is not None else None) or DEFAULT_WEIGHTS)

    def _learned(self) -> bool:
        """Whether the trained models filled the behaviour space."""
        models = self.models()
        return models is not None and models.learned

    def interest(self, state: ProfileState, strategy: str) -> Vector | None:
        """The vector `strategy` recommends from (None: nothing to go on yet)."""
        return interest(state, strategy, self.store, self.profiles)

    def _rank(
        self,
        user_id: str,
        n: int,
        name: str,
        where: Mapping[str, Any] | None,
        skip: Sequence[str],
        state: ProfileState | None,
        boosts: Boosts,
        tuning: Tuning | None,
        spaces: Mapping[str, float] | None = None,
    ) -> Recommendation:
        vector = None if state is None or name == "popular" else self.interest(state, name)
        if spaces and state is not None:
            queries = tastes(self.store, state, name, vector, spaces, self.profiles)
            if queries:
                query = Query(user_id, POOL * n, None, state.recent, where, skip)
                scores = blended(self.store, queries, spaces, n=query.n, where=where, exclude=skip)
                return Recommendation(user_id, name, self._shaped(scores, query, n, boosts))
            vector = None  # nothing to go on in any space of the blend
        if vector is None or state is None:
            offer = self.sources.popular(Query(user_id, n, where=where, exclude=skip))
            hits = offer.scores.items()
            items = [Recommended(i, s, "popular" if s > 0 else "new") for i, s in hits]
            return Recommendation(user_id, "popular", items)
        if tuning is not None:  # the hybrid's
            taste = self._taste(user_id) if tuning.weights.get("behaviour") else None
            query = Query(user_id, POOL * n, vector, state.recent, where, skip, taste)
            return Recommendation(user_id, name, self._blend(query, n, boosts, tuning))
        # Boosts reorder the search's hits: then it offers a pool to reorder, as a blend does.
        size = POOL * n if boosts else n
        if state.space == BEHAVIOUR:
            query = Query(user_id, size, None, state.recent, where, skip, vector)
            return Recommendation(user_id, name, self._nearest(query, n, boosts, "behaviour"))
        also = None if boosts else state.recent[-REASONS_MAX:]  # read with the hits
        query = Query(user_id, size, vector, state.recent, where, skip, also=also)
        return Recommendation(user_id, name, self._nearest(query, n, boosts))

    def _taste(self, user_id: str) -> Vector | None:
        """The user's interest vector in the behaviour space (None before a model)."""
        if not self._learned():
            return None
        state = self.store.profile(user_id, space=BEHAVIOUR)
        return None if state is None else state.interest

    def _nearest(
        self, query: Query, n: int, boosts: Boosts, source: str = "content"
    ) -> list[Recommended]:
        """A profile strategy's list: one search (content, or behaviour), boosted, explained;
        the content source reads its hits' and the liked items' vectors and titles with it."""
        offer = self.sources.blend[source](query)
        return self._shaped(offer.scores, query, n, boosts, offer.found)

    def _shaped(
        self,
        scored: Mapping[str, float],
        query: Query,
        n: int,
        boosts: Boosts,
        found: Mapping[str, Fetched] | None = None,
    ) -> list[Recommended]:
        """Scored candidates boosted, cut to `n` and explained by the user's liked items
        (their vectors and titles `found` by the source, else read here)."""
        # The search applied `where`: only boosts check fields. Without, the reasons read
        # vectors and titles only.
        liked = query.recent[-REASONS_MAX:]
        if found is None or boosts:
            lookup = Lookup.fetch(self.store, [*scored, *liked], None if boosts else ())
        else:
            lookup = Lookup(found)
        scores = hybrid.boost(dict(scored), boosts, lookup) if boosts else scored
        ranked = sorted(scores, key=lambda i: (-scores[i], i))[:n]
        return explain(liked, [(i, scores[i]) for i in ranked], lookup)

    def _blend(self, query: Query, n: int, boosts: Boosts, tuning: Tuning) -> list[Recommended]:
        """The hybrid list: every weighted source asked once, every candidate (and liked
        item) fetched once, then blended and shaped from that one read."""
        # Content always answers: its scores take part in choosing each item's reason.
        offers = {
            source: ask(query)
            for source, ask in self.sources.blend.items()
            if source == "content" or tuning.weights.get(source)
        }
        candidates = [i for offer in offers.values() for i in offer.scores]
        # Every candidate's vector and title; their fields only when a step reads them.
        config = self.config
        reads_fields = bool(
            boosts
            or config.freshness_half_life_days
            or config.category_cap
            or config.category_rotation
            or (
                parse_where(query.where) is not None  # `{}` parses to a filter too
                and any(o.keep is not None for o in offers.values())
            )
        )
        details = None if reads_fields else ()
        liked = query.recent[-REASONS_MAX:]
        lookup = Lookup.fetch(self.store, [*candidates, *liked], details)
        return hybrid.rank(
            offers,
            lookup,
            recent=liked,
            n=n,
            where=query.where,
            boosts=boosts,
            tuning=tuning,
            config=self.config,
        )
