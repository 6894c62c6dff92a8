"""Click-through and conversion rates with 95% Wilson score intervals (pure functions)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["Activity", "RateRow", "wilson"]

Z95 = 1.959963984540054


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion; (0, 1) when there are no trials.

    Unlike the normal approximation it stays inside [0, 1] and is sensible for small counts
    and rates near 0 or 1.
    """
    if trials <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= trials:
        raise ValueError("successes must be between 0 and trials")
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends, not 1e-17 off
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class RateRow:
    """One group of a CTR report: lists shown, lists clicked, lists converted, mean dwell."""

    group: str
    impressions: int
    clicks: int
    conversions: int
    mean_dwell: float | None

    def as_dict(self) -> dict[str, Any]:
        ctr_low, ctr_high = wilson(self.clicks, self.impressions)
        conv_low, conv_high = wilson(self.conversions, self.impressions)
        n = self.impressions
        return {
            **asdict(self),
            "ctr": self.clicks / n if n else 0.0,
            "ctr_ci95": [ctr_low, ctr_high],
            "conversion_rate": self.conversions / n if n else 0.0,
            "conversion_rate_ci95": [conv_low, conv_high],
        }


PERCENTILES = (50, 90, 99)


def _percentiles(values: list[float]) -> dict[str, Any]:
    found = np.percentile(values, PERCENTILES).tolist() if values else [None] * len(PERCENTILES)
    return {"count": len(values), **{f"p{q}": v for q, v in zip(PERCENTILES, found, strict=True)}}


@dataclass(frozen=True)
class Activity:
    """What the service did since a time: events per (UTC day, type), the milliseconds each
    tracked list took to make (per strategy), and how many distinct items were shown."""

    events: list[tuple[str, str, int]]
    latency_ms: dict[str, list[float]] = field(default_factory=dict)
    items_shown: int = 0

    def as_dict(self, catalog: int) -> dict[str, Any]:
        """Event rows, latency percentiles (overall and per strategy) and catalog coverage:
        the share of the `catalog` items that appeared in at least one list."""
        every = [ms for values in self.latency_ms.values() for ms in values]
        return {
            "events": [{"day": d, "type": t, "count": n} for d, t, n in self.events],
            "latency_ms": {
                **_percentiles(every),
                "by_strategy": {s: _percentiles(v) for s, v in sorted(self.latency_ms.items())},
            },
            "coverage": {
                "items_shown": self.items_shown,
                "catalog": catalog,
                "share": self.items_shown / catalog if catalog else 0.0,
            },
        }
