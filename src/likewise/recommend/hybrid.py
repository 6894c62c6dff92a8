"""The hybrid list: candidates of every source blended, then shaped (freshness, caps,
diversity, rotation) and explained; all from one `Lookup`, with no store call of its own."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from likewise.config import RankingConfig
from likewise.filters import parse_date
from likewise.ranking import cap, decay, dpp, minmax, mmr, rotate, weighted
from likewise.recommend.lookup import Lookup
from likewise.recommend.model import POOL, Recommended, Tuning
from likewise.recommend.reasons import explain, strongest
from likewise.recommend.sources import Candidates

__all__ = ["Boosts", "age_and_cap", "boost", "fill", "rank", "settle"]

Boosts = Sequence[tuple[Mapping[str, Any], float]]  # (where, weight) of each context boost


def rank(
    offers: Mapping[str, Candidates],
    lookup: Lookup,
    *,
    recent: Sequence[str],
    n: int,
    where: Mapping[str, Any] | None,
    boosts: Boosts,
    tuning: Tuning,
    config: RankingConfig,
) -> list[Recommended]:
    """Blend the sources' candidates (min-max, weighted), boost, age and cap, diversify,
    rotate; each item keeps the reason of the source that gave it the most.

    Args:
        offers: Each source's candidates by source name, in blending order.
        lookup: Vectors, fields and titles of every candidate and of `recent`.
        recent: The user's positive items, oldest first (for reasons).
        n: How many items the list holds.
        where: The request's filter, for candidates their source could not filter.
        boosts: Context boosts: items passing `where` gain `weight`.
        tuning: Blend weights and diversity.
        config: Freshness, caps, rotation and the diversity method.
    """
    sources = {name: settle(offer, lookup, where) for name, offer in offers.items()}
    fused = weighted(sources, tuning.weights)
    if tuning.fill:
        fill(fused, sources, n)
    fused = boost(fused, boosts, lookup)
    ranked = sorted(fused, key=lambda i: (-fused[i], i))
    if config.freshness_half_life_days or config.category_cap:
        ranked = age_and_cap(ranked[: POOL * n], fused, lookup, config)
    if tuning.diversity > 0:
        pool = ranked[: POOL * n]
        found = lookup.vectors(pool)
        pool = [i for i in pool if i in found]
        rows = np.stack([found[i] for i in pool]) if pool else np.zeros((0, 1), np.float32)
        relevance = [fused[i] for i in pool]
        diversify = dpp if config.diversity_method == "dpp" else mmr
        ranked = diversify(pool, relevance, rows, n=n, diversity=tuning.diversity)
    if config.category_rotation:
        top = ranked[:n]
        ranked = rotate(top, {i: _text(lookup.field(i, config.category_field)) for i in top})
    explained = explain(recent, [(i, fused[i]) for i in ranked[:n]], lookup)
    return strongest(explained, sources, tuning.weights)


def fill(
    fused: dict[str, float], sources: Mapping[str, dict[str, float]], n: int
) -> dict[str, float]:
    """A list the weighted sources leave short of `n` is filled from the content source (in
    place), below every blended item and in content order: the trained models know no item
    without events, and tuned weights may give content none. (Weights a request or the
    settings give are taken as they are: those sources only.)"""
    if len(fused) < n and "content" in sources:
        for item, score in minmax(sources["content"]).items():
            fused.setdefault(item, score - 1.0)
    return fused


def settle(offer: Candidates, lookup: Lookup, where: Mapping[str, Any] | None) -> dict[str, float]:
    """A source's scores, its unchecked candidates (`keep` set) checked against `where`."""
    if offer.keep is None:
        return offer.scores
    kept = lookup.matching(list(offer.scores), where)[: offer.keep]
    return {i: offer.scores[i] for i in kept}


def boost(scores: dict[str, float], boosts: Boosts, lookup: Lookup) -> dict[str, float]:
    """Add each context boost's weight to the items matching its filter (in place)."""
    for where, weight in boosts:
        for item in lookup.matching(list(scores), where):
            scores[item] += weight
    return scores


def age_and_cap(
    pool: list[str], fused: dict[str, float], lookup: Lookup, config: RankingConfig
) -> list[str]:
    """Weigh `fused` by the freshness decay of `published_at`, re-rank, then cap each
    `category_field` value at `category_cap` items (0: no cap)."""
    if config.freshness_half_life_days:
        half_life = config.freshness_half_life_days * 86_400
        now = time.time()
        for item_id in pool:
            stamp = _epoch(lookup.field(item_id, "published_at"))
            if stamp is not None:  # no date, no decay
                fused[item_id] *= decay(now - stamp, half_life, shape=config.freshness_shape)
        pool = sorted(pool, key=lambda i: (-fused[i], i))
    if config.category_cap:
        categories = {i: _text(lookup.field(i, config.category_field)) for i in pool}
        pool = cap(pool, categories, config.category_cap)
    return pool


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
