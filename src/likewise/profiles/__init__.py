"""User profiles: interest vectors from events (mean, EMA, dislike, momentum)."""

from likewise.profiles.state import (
    STRATEGIES,
    ProfileConfig,
    ProfileState,
    Snapshot,
    Step,
    apply,
)
from likewise.profiles.strategies import dislike, ema, mean, momentum, normalize

__all__ = [
    "STRATEGIES",
    "ProfileConfig",
    "ProfileState",
    "Snapshot",
    "Step",
    "apply",
    "dislike",
    "ema",
    "mean",
    "momentum",
    "normalize",
]
