"""Why an item is recommended: the liked item nearest to it, or the source that chose it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from likewise.ranking import minmax
from likewise.recommend.lookup import Lookup
from likewise.recommend.model import Recommended

__all__ = ["OWN_REASONS", "explain", "strongest"]

# Sources whose items are explained by the source itself when it gave them the most (others
# by the liked item nearest to them).
OWN_REASONS = {"popular": "popular"}


def explain(
    recent: Sequence[str], chosen: Sequence[tuple[str, float]], lookup: Lookup
) -> list[Recommended]:
    """Each chosen (id, score): `because you liked <title>`, naming the liked item (of
    `recent`) whose vector is nearest; `matches your interests` with no liked item to name.
    Every chosen item's vector must be in `lookup` (and the titles, unless it reads them)."""
    vector = lookup.vector
    liked, rows = [], []
    for i in recent:
        if (v := vector(i)) is not None:
            liked.append(i)
            rows.append(v)
    if not liked or not chosen:
        return [Recommended(i, score, "matches your interests") for i, score in chosen]
    # np.array of the rows: a list of equal vectors is copied in one step (np.stack checks
    # and concatenates them one by one, twice the time on a 10-item list).
    sims = np.array([vector(i) for i, _ in chosen]) @ np.array(rows).T
    because = [liked[j] for j in sims.argmax(axis=1).tolist()]
    titles = lookup.titles(list(dict.fromkeys(because)))
    return [
        Recommended(i, score, f"because you liked {titles.get(b) or b!r}", b)
        for (i, score), b in zip(chosen, because, strict=True)
    ]


def strongest(
    items: Sequence[Recommended],
    sources: Mapping[str, Mapping[str, float]],
    weights: Mapping[str, float],
) -> list[Recommended]:
    """`items` with the reason of the source that gave each the most (weight times its
    min-max score) where that source has its own reason (`OWN_REASONS`)."""
    normal = {name: minmax(scores) for name, scores in sources.items()}

    def best(item: str) -> str:
        return max(normal, key=lambda s: weights.get(s, 0.0) * normal[s].get(item, -1.0))

    out = []
    for r in items:
        reason = OWN_REASONS.get(best(r.id))
        out.append(r if reason is None else Recommended(r.id, r.score, reason))
    return out
