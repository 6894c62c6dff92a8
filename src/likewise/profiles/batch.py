"""`apply` for many users at once: the same states, with the EMA steps as matrix operations.

Users are independent, so the k-th event of every user in a batch is one round: the
positive steps of a round are two EMAs over stacked rows instead of two per user (each numpy
call costs about a microsecond whatever its size, and a batch has one or two events per user).
Every operation is the one `ema` does, elementwise in the same precision, and the squared norm
is numpy's own vector dot (`np.vecdot` runs the kernel of `x @ x`), so the vectors are
bit-identical to `apply`'s (tested). Dislikes (rarer) and rows that would need a fallback
(an EMA that cancels out, a vector that is not float32) take the one-user functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from likewise.config import ProfileConfig
from likewise.profiles.state import ProfileState, Snapshot, Step, apply, count, snap
from likewise.profiles.strategies import EPSILON, Vector, ema

__all__ = ["apply_many"]

_vecdot = getattr(np, "vecdot", None)  # numpy >= 2


def apply_many(
    batch: Sequence[tuple[ProfileState, Sequence[Step]]],
    config: ProfileConfig,
    *,
    owned: bool = False,
) -> list[tuple[ProfileState, list[Snapshot]]]:
    """`[apply(state, steps, config, owned=owned) for state, steps in batch]`, computed round
    by round (one user, the case of each event recorded alone, is `apply` itself: a third
    faster). With `owned`, the states are the caller's own and changed in place (a copy of
    each took a twentieth of recording a batch)."""
    if len(batch) == 1:
        return [apply(batch[0][0], batch[0][1], config, owned=owned)]
    states = [state if owned else state.copy() for state, _ in batch]
    taken: list[list[Snapshot]] = [[] for _ in batch]
    rounds = max((len(steps) for _, steps in batch), default=0)
    for k in range(rounds):
        live = [(i, steps[k]) for i, (_, steps) in enumerate(batch) if k < len(steps)]
        positive: list[tuple[ProfileState, Step, float]] = []
        for i, step in live:
            weight = count(states[i], step, config)
            if weight:
                positive.append((states[i], step, weight))
        if positive:
            items = [step.vector for _, step, _ in positive]
            weights = [weight for _, _, weight in positive]
            emas = _ema_rows([s.ema for s, _, _ in positive], items, weights)
            interests = _ema_rows([s.interest for s, _, _ in positive], items, weights)
            for (state, _, _), new_ema, new_interest in zip(positive, emas, interests, strict=True):
                state.ema, state.interest = new_ema, new_interest
        for i, step in live:
            snap(states[i], step.at, config, taken[i])
    return list(zip(states, taken, strict=True))


def _ema_rows(
    olds: Sequence[Vector | None], items: Sequence[Vector], alphas: Sequence[float]
) -> list[Vector | None]:
    """`[ema(old, item, alpha) ...]`: the rows with a float32 `old` and item as matrices."""
    out: list[Vector | None] = [None] * len(olds)
    rows = [
        j
        for j, old in enumerate(olds)
        if old is not None and old.dtype == np.float32 and items[j].dtype == np.float32
    ]
    if len(rows) > 1:
        alpha = np.array([alphas[j] for j in rows])
        item = np.stack([items[j] for j in rows]).astype(np.float64)
        old = np.stack([olds[j] for j in rows])  # type: ignore[misc]
        # As `ema`: the item scaled in float64, the old vector by (1 - alpha) in float32
        # (numpy multiplies a float32 array by a Python float in float32), summed in float64.
        mixed = alpha[:, None] * item + (1.0 - alpha).astype(np.float32)[:, None] * old
        norm = np.sqrt(_squares(mixed))
        with np.errstate(divide="ignore", invalid="ignore"):  # those rows take `ema` below
            unit = (mixed / norm[:, None]).astype(np.float32)
        fine = (np.isfinite(norm) & (norm >= EPSILON)).tolist()
        for j, row, ok in zip(rows, unit, fine, strict=True):  # rows of `unit`: views
            if ok:
                out[j] = row
    return [
        row if row is not None else ema(old, item, alpha)
        for row, old, item, alpha in zip(out, olds, items, alphas, strict=True)
    ]


def _squares(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each row's `row @ row`, summed as `x @ x` sums it (not einsum's order)."""
    if _vecdot is not None:
        squares: npt.NDArray[np.float64] = _vecdot(rows, rows)
        return squares
    return np.array([row @ row for row in rows])
