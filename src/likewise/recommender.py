"""Moved to `likewise.recommend`; kept for `engine.py` and `cli/evaluate.py` until they import
from there."""

from likewise.recommend.model import RECOMMENDERS, new_id

__all__ = ["RECOMMENDERS", "new_id"]
