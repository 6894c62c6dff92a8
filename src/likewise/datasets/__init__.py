"""Loaders for the real datasets the demo and evaluation use."""

from likewise.datasets.movielens import dataset_dir, movielens_items, movielens_ratings

__all__ = ["dataset_dir", "movielens_items", "movielens_ratings"]
