"""Offline evaluation on real data."""

from likewise.evaluation.metrics import hit_rate, ndcg

__all__ = ["hit_rate", "ndcg"]
