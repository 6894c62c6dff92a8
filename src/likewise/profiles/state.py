"""A user's profile and how one event changes it (pure: no storage, no clock)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from likewise.config import RECENT_MAX, ProfileConfig
from likewise.profiles.strategies import Vector, dislike, ema, has_direction

__all__ = ["RECENT_MAX", "STRATEGIES", "ProfileConfig", "ProfileState", "Snapshot", "Step", "apply"]

STRATEGIES = ("dislike", "ema", "mean", "momentum")


@dataclass(frozen=True)
class Snapshot:
    """The interest vector at one moment (event time), for `momentum`."""

    at: float
    vector: Vector


@dataclass
class ProfileState:
    """What likewise keeps per user.

    `interest` is the default strategy's vector (EMA of positives, minus disliked items) and
    what snapshots record; `ema` follows positives only; `recent` holds the latest positive
    item ids, newest last. `seed` is the onboarding vector a profile started from, if any.
    A user has one profile per vector space (`space`): the same math, another space.
    """

    user_id: str
    interest: Vector | None = None
    ema: Vector | None = None
    seed: Vector | None = None
    recent: list[str] = field(default_factory=list)
    events: int = 0
    positives: int = 0
    negatives: int = 0
    since_snapshot: int = 0
    last_snapshot_at: float | None = None
    updated_at: float | None = None
    space: str = "text"

    @classmethod
    def seeded(cls, user_id: str, seed: Vector | None, *, space: str = "text") -> ProfileState:
        """A fresh profile that starts from `seed` (onboarding text or chosen items)."""
        return cls(user_id, interest=seed, ema=seed, seed=seed, space=space)

    def copy(self) -> ProfileState:
        """A copy with its own `recent` list (vectors are shared: the math never changes one
        in place). Spelled out, not `dataclasses.replace`: it runs for every user in a batch."""
        return ProfileState(
            self.user_id,
            self.interest,
            self.ema,
            self.seed,
            list(self.recent),
            self.events,
            self.positives,
            self.negatives,
            self.since_snapshot,
            self.last_snapshot_at,
            self.updated_at,
            self.space,
        )


@dataclass(frozen=True)
class Step:
    """One event as the math sees it: the item, its vector, its signal and its time."""

    item_id: str
    vector: Vector
    signal: float
    at: float


def apply(
    state: ProfileState, steps: Sequence[Step], config: ProfileConfig, *, owned: bool = False
) -> tuple[ProfileState, list[Snapshot]]:
    """Apply events in order; returns the new state and the snapshots taken on the way.
    `state` is left as it was, unless `owned` (the caller's own, made for this call): then it
    is changed and returned, without a copy.

    A positive signal `s` is an EMA step with weight `alpha * s` on both `ema` and
    `interest`; a negative one is a dislike step with weight `beta * |s|` on `interest`
    (a dislike before any positive has nothing to turn away from and only counts).
    """
    if not owned:
        state = state.copy()
    snapshots: list[Snapshot] = []
    for step in steps:
        weight = count(state, step, config)
        if weight:
            state.ema = ema(state.ema, step.vector, weight)
            state.interest = ema(state.interest, step.vector, weight)
        snap(state, step.at, config, snapshots)
    return state, snapshots


def count(state: ProfileState, step: Step, config: ProfileConfig) -> float:
    """What a step does to `state` (a copy of its own) besides a positive's EMA: the
    counters, `recent` (changed in place), a dislike. Returns the EMA weight `alpha * s` of a
    positive step whose item has a direction, else 0 (`apply` and `batch.apply_many` share
    this)."""
    state.events += 1
    state.since_snapshot += 1
    state.updated_at = step.at
    if step.signal > 0:
        state.positives += 1
        recent = state.recent
        if step.item_id in recent:
            recent.remove(step.item_id)
        recent.append(step.item_id)
        if len(recent) > RECENT_MAX:
            del recent[: len(recent) - RECENT_MAX]
        if not has_direction(step.vector):
            # An item with no direction (a text the embedder found nothing in, such as "!!!"
            # for the hashing model): the event counts, but there is nothing to turn towards,
            # and a first EMA step from it would have no unit vector to start from.
            return 0.0
        return config.alpha * step.signal
    if step.signal < 0:
        state.negatives += 1
        if state.interest is not None:
            state.interest = dislike(state.interest, step.vector, config.beta * -step.signal)
    return 0.0


def snap(state: ProfileState, at: float, config: ProfileConfig, into: list[Snapshot]) -> None:
    """Take a snapshot of `interest` into `into` if one is due at `at`."""
    if state.interest is not None and _snapshot_due(state, at, config):
        into.append(Snapshot(at, state.interest.copy()))
        state.since_snapshot = 0
        state.last_snapshot_at = at


def _snapshot_due(state: ProfileState, at: float, config: ProfileConfig) -> bool:
    if state.since_snapshot >= config.snapshot_every:
        return True
    last = state.last_snapshot_at
    return config.snapshot_seconds > 0 and (last is None or at - last >= config.snapshot_seconds)
