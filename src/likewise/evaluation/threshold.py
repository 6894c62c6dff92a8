"""A `min_score` for each strategy, read off the held-out items: the score above which a
list keeps all but `loss` of the hits it finds at k, and how much of the list it cuts.

Serving with that `min_score` returns short lists rather than weak matches, at the price of
that share of the hits (the weakest hits are the ones lost).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from likewise.errors import InvalidInput

__all__ = ["check_loss", "threshold"]


def check_loss(loss: float | None, field: str = "tune_min_score") -> None:
    """None (no threshold asked), or a share of hits within [0, 1)."""
    if loss is None:
        return
    if isinstance(loss, bool) or not isinstance(loss, int | float) or not 0 <= loss < 1:
        raise InvalidInput("must be a share of hits to lose, from 0 to below 1", field=field)


def threshold(
    users: Sequence[str],
    targets: Mapping[str, str],
    lists: Sequence[Sequence[str]],
    scores: Sequence[Sequence[float]],
    k: int,
    loss: float,
) -> dict[str, Any]:
    """`min_score`: the lowest score that keeps at least `1 - loss` of the hits at `k`
    (None when no list found its target); `slots_cut`: the share of the lists' first `k`
    slots scored below it; `hits_kept`: the share of the hits at or above it."""
    found: list[float] = []
    slots: list[float] = []
    for user, ranked, scored in zip(users, lists, scores, strict=True):
        top = list(ranked[:k])
        slots.extend(scored[:k])
        if targets[user] in top:
            found.append(scored[top.index(targets[user])])
    if not found:
        return {"min_score": None, "slots_cut": None, "hits_kept": None}
    hits = np.asarray(found, dtype=np.float64)
    bar = float(np.quantile(hits, loss, method="lower"))
    return {
        "min_score": bar,
        "slots_cut": float(np.mean(np.asarray(slots) < bar)),
        "hits_kept": float(np.mean(hits >= bar)),
    }
