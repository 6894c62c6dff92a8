"""The interest-vector math: pure numpy functions, vectors in, unit vectors out.

Every function returns a new float32 unit vector and leaves its inputs alone. A result that
would have no direction (a zero vector) falls back as documented instead of dividing by zero.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["dislike", "ema", "has_direction", "mean", "momentum", "normalize"]

Vector = npt.NDArray[np.float32]
EPSILON = 1e-6


def normalize(vector: npt.ArrayLike) -> Vector | None:
    """`vector / ||vector||`, or None when it has no direction."""
    out = np.asarray(vector, dtype=np.float64)
    norm = math.sqrt(float(out @ out))
    if not math.isfinite(norm) or norm < EPSILON:
        return None
    return (out / norm).astype(np.float32)


def has_direction(vector: Vector) -> bool:
    """`normalize(vector) is not None`, without making the unit vector (the same float64
    norm, so the same answer): what every positive step asks of its item."""
    out = np.asarray(vector, dtype=np.float64)
    norm = math.sqrt(float(out @ out))
    return math.isfinite(norm) and norm >= EPSILON


def ema(old: Vector | None, item: Vector, alpha: float) -> Vector | None:
    """`normalize(alpha * item + (1 - alpha) * old)`; the item itself when there is no old.

    alpha = 1 gives the last item; a smaller alpha remembers more of the past. Should the two
    cancel out exactly, the newest item wins. An item with no direction (a zero vector: a
    text the model maps to nothing, or one brought so) leaves `old` as it was, None too.
    """
    if old is not None:
        mixed = normalize(alpha * item.astype(np.float64) + (1.0 - alpha) * old)
        if mixed is not None:
            return mixed
    return normalize(item)


def dislike(old: Vector, item: Vector, beta: float) -> Vector:
    """`normalize(old - beta * item)`: turn away from a disliked item.

    beta = 0 changes nothing. Should the item be all the profile holds (the result would be
    zero), the profile is kept as it was.
    """
    unit = normalize(old)
    if unit is None:
        raise ValueError("the profile vector is zero")
    return _or(normalize(old.astype(np.float64) - beta * item.astype(np.float64)), unit)


def mean(items: Vector) -> Vector | None:
    """`normalize(mean(items))` over the rows of `items` (None if empty or cancelling)."""
    if len(items) == 0:
        return None
    return normalize(items.astype(np.float64).mean(axis=0))


def momentum(snapshots: Vector) -> Vector | None:
    """`normalize(avg_new + (avg_new - avg_old))` over two halves of `snapshots` (oldest first).

    With an odd count the middle snapshot belongs to neither half. Fewer than two snapshots
    give None: there is no direction to project yet.
    """
    half = len(snapshots) // 2
    if half == 0:
        return None
    rows = snapshots.astype(np.float64)
    avg_old = rows[:half].mean(axis=0)
    avg_new = rows[-half:].mean(axis=0)
    return normalize(avg_new + (avg_new - avg_old))


def _or(value: Vector | None, fallback: Vector) -> Vector:
    return fallback if value is None else value
