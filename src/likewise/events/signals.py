"""What an event says about a user's taste: a signal in [-1, 1].

Positive signals pull the interest vector towards the item (scaled EMA step), negative ones
push it away (scaled dislike step), zero only records that the item was seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from likewise.errors import ConfigError, InvalidInput
from likewise.events.model import Event

__all__ = ["DEFAULT_WEIGHTS", "SignalRules"]

DEFAULT_WEIGHTS: Mapping[str, float] = {
    "view": 0.5,
    "click": 1.0,
    "like": 1.0,
    "purchase": 1.0,
    "dislike": -1.0,
    "skip": -0.5,
}


@dataclass(frozen=True)
class SignalRules:
    """Per-type signal mapping.

    Types in `weights` map to a constant. `dwell` (value: seconds) is +1 at `dwell_seconds`
    or more, else neutral; `rating` (value: from `rating_min` to `rating_max`, 1 to 5 by
    default) is +1 at `rating_like` or above, -1 (a dislike) at `rating_dislike` or below,
    else neutral.
    """

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    dwell_seconds: float = 30.0
    rating_like: float = 4.0
    rating_dislike: float = 2.0
    rating_min: float = 1.0
    rating_max: float = 5.0

    def __post_init__(self) -> None:
        for name, weight in self.weights.items():
            if name in ("dwell", "rating"):
                raise ConfigError(f"signal weights: {name!r} is valued; set its thresholds")
            if not -1.0 <= weight <= 1.0:
                raise ConfigError(f"signal weights: {name!r} must be within [-1, 1]")
        low, high = self.rating_min, self.rating_max
        if low >= high:
            raise ConfigError(f"setting rating_min: must be below rating_max ({high:g})")
        if self.rating_dislike >= self.rating_like:
            raise ConfigError(
                f"setting rating_dislike: must be below rating_like ({self.rating_like:g})"
            )
        for name in ("rating_dislike", "rating_like"):
            if not low <= getattr(self, name) <= high:
                raise ConfigError(
                    f"setting {name}: must be within the rating scale, rating_min to "
                    f"rating_max ({low:g} to {high:g})"
                )

    @property
    def types(self) -> list[str]:
        return sorted([*self.weights, "dwell", "rating"])

    def signal(self, event: Event) -> float:
        """The event's signal, or InvalidInput naming `type` or `value`."""
        if event.type == "dwell":
            seconds = self._value(event, 0.0, None)
            return 1.0 if seconds >= self.dwell_seconds else 0.0
        if event.type == "rating":
            stars = self._value(event, self.rating_min, self.rating_max)
            if stars >= self.rating_like:
                return 1.0
            return -1.0 if stars <= self.rating_dislike else 0.0
        weight = self.weights.get(event.type)
        if weight is None:
            raise InvalidInput(
                f"unknown event type {event.type!r}; known: {', '.join(self.types)}", field="type"
            )
        return float(weight)

    @staticmethod
    def _value(event: Event, low: float, high: float | None) -> float:
        value = event.value
        if value is None:
            raise InvalidInput(f"a {event.type} event needs a value", field="value")
        if value < low or (high is not None and value > high):
            span = f"from {low:g} to {high:g}" if high is not None else f"at least {low:g}"
            raise InvalidInput(f"a {event.type} value must be {span}", field="value")
        return value
