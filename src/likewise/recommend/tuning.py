"""The hybrid's weights fit to held-out items: coordinate ascent over a grid, each weighting
scored by the NDCG of every user's held-out item in the list the blend would make.

The blend is the one serving uses (`likewise.ranking.weighted`: each source's scores min-max
normalised, then weighted and summed), computed for all users at once as a matrix product.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from likewise.ranking import minmax

__all__ = ["GRID", "Tuned", "fit_weights"]

GRID = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0)
Offers = Mapping[str, Mapping[str, float]]  # source -> {item: score}, for one user


class Tuned:
    """The weights chosen, their NDCG@n on the held-out items, and each source's alone."""

    def __init__(
        self,
        weights: dict[str, float],
        ndcg: float,
        alone: dict[str, float],
        extra: dict[str, float] | None = None,
    ) -> None:
        self.weights = weights
        self.ndcg = ndcg
        self.alone = alone
        self.extra = extra or {}  # other choices tuned with the weights (e.g. ease_decay)

    def as_dict(self) -> dict[str, object]:
        out = {"weights": self.weights, "ndcg": round(self.ndcg, 4), "alone": self.alone}
        return {**out, **self.extra}


def fit_weights(
    offers: Sequence[Offers],
    targets: Sequence[str],
    sources: Sequence[str],
    *,
    n: int = 10,
    rounds: int = 3,
) -> Tuned:
    """Weights for `sources` that rank each user's target highest in their blended offers.

    Starts from the best single source at weight 1, then tries every grid value for each
    source in turn (the others held), keeping a change only when it scores higher: the
    result is never below the best single source on these items.
    """
    table = _Table(offers, targets, sources)
    alone = {s: table.ndcg(_only(sources, s), n) for s in sources}
    best_source = max(sources, key=lambda s: (alone[s], -sources.index(s)))
    weights = _only(sources, best_source)
    score = alone[best_source]
    for _ in range(rounds):
        changed = False
        for s in sources:
            for value in GRID:
                if value == weights[s]:
                    continue
                trial = {**weights, s: value}
                if not any(trial.values()):
                    continue
                got = table.ndcg(trial, n)
                if got > score + 1e-9:
                    weights, score, changed = trial, got, True
        if not changed:
            break
    return Tuned(weights, score, {s: round(v, 4) for s, v in alone.items()})


def _only(sources: Sequence[str], chosen: str) -> dict[str, float]:
    return {s: 1.0 if s == chosen else 0.0 for s in sources}


class _Table:
    """Every user's candidates as rows: normalised score per source, and which is the target."""

    def __init__(self, offers: Sequence[Offers], targets: Sequence[str], sources: Sequence[str]):
        blocks: list[list[list[float]]] = []
        owners: list[np.ndarray[tuple[int], np.dtype[np.int64]]] = []
        hits: list[int] = []
        for offer, target in zip(offers, targets, strict=True):
            items = list(dict.fromkeys(i for s in sources for i in offer.get(s, {})))
            if target not in items:
                continue  # no weighting can find it: a miss for every one
            scaled = {s: minmax(offer.get(s, {})) for s in sources}
            blocks.append([[scaled[s].get(i, 0.0) for s in sources] for i in items])
            owners.append(np.full(len(items), len(hits)))
            hits.append(items.index(target))
        self.users = len(targets)
        self.rows = np.vstack([np.asarray(b, np.float64) for b in blocks]) if blocks else None
        self.owner = np.concatenate(owners) if owners else np.zeros(0, int)
        starts = np.cumsum([0, *(len(b) for b in blocks[:-1])]) if blocks else np.zeros(0, int)
        self.target_rows = starts + np.asarray(hits, int)
        self.sources = list(sources)

    def ndcg(self, weights: Mapping[str, float], n: int) -> float:
        """Mean NDCG@n of the targets in the lists these weights make (a tie ranks below)."""
        if self.rows is None or not self.users:
            return 0.0
        w = np.asarray([weights.get(s, 0.0) for s in self.sources])
        fused = self.rows @ w
        mine = fused[self.target_rows]
        above = fused > mine[self.owner]
        ties = (fused == mine[self.owner]) & (np.arange(len(fused)) != self.target_rows[self.owner])
        rank = np.bincount(self.owner, weights=above + ties, minlength=len(mine))
        unscored = mine <= 0  # the target came only from sources weighted 0
        gain = np.where((rank < n) & ~unscored, 1.0 / np.log2(rank + 2), 0.0)
        return float(gain.sum() / self.users)
