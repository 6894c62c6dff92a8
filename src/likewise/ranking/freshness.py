"""Freshness: newer items weigh more, by the age of `published_at` (pure functions)."""

from __future__ import annotations

import math

__all__ = ["decay"]


def decay(age_seconds: float, half_life_seconds: float, *, shape: str = "exponential") -> float:
    """A weight in (0, 1]: 1 for an item published now (or in the future), 0.5 at one half-life.

    `exponential`: `0.5 ** (age / half_life)`; `gaussian`: `0.5 ** ((age / half_life) ** 2)`,
    flat for the newest items and falling fast after the half-life.
    """
    if half_life_seconds <= 0:
        raise ValueError("half_life_seconds must be positive")
    x = max(0.0, age_seconds) / half_life_seconds
    if shape == "exponential":
        return math.pow(0.5, x)
    if shape == "gaussian":
        return math.pow(0.5, x * x)
    raise ValueError(f"unknown shape {shape!r}; known: exponential, gaussian")
