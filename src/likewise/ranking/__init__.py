"""Ranking: for now, the cache of hot results."""

from likewise.ranking.cache import ResultCache

__all__ = ["ResultCache"]
