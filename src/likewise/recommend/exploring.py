"""Exploration's slots: the last of a first page given to popular items the list lacks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from likewise.recommend.model import Recommendation, Recommended
from likewise.recommend.sources import Query, Source

__all__ = ["explore"]


def explore(
    rec: Recommendation,
    n: int,
    slots: int,
    where: Mapping[str, Any] | None,
    exclude: Sequence[str],
    seen: Sequence[str],
    source: Source,
) -> Recommendation:
    """Give the last `slots` of the `n` to items `source` draws (exploration: popular ones,
    with a seed of (user, day): the same page reloads the same way) that the list does not
    hold. A list shorter than `n` keeps its items and fills the slots after them."""
    keep = rec.items[: n - slots]
    skip = [*exclude, *(r.id for r in keep), *seen]
    picks = source(Query(rec.user_id, slots, where=where, exclude=skip))
    extra = [Recommended(i, s, "explore") for i, s in picks.scores.items()]
    return Recommendation(rec.user_id, rec.strategy, [*keep, *extra], rec.id)
