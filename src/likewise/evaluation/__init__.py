"""Offline evaluation on real data."""

from likewise.evaluation.metrics import coverage, hit_rate, ndcg, novelty, reciprocal_rank

__all__ = ["coverage", "hit_rate", "ndcg", "novelty", "reciprocal_rank"]
