"""Ranking: blending sources, diversity, freshness, and the cache of hot results."""

from likewise.ranking.blend import minmax, rrf, weighted
from likewise.ranking.cache import ResultCache
from likewise.ranking.diversity import cap, dpp, intra_list_diversity, mmr, rotate
from likewise.ranking.freshness import decay

__all__ = [
    "ResultCache",
    "cap",
    "decay",
    "dpp",
    "intra_list_diversity",
    "minmax",
    "mmr",
    "rotate",
    "rrf",
    "weighted",
]
