"""Events: what users do to items, validated, and the taste signal each one carries."""

from likewise.events.loaders import load_events
from likewise.events.model import Event, parse_event
from likewise.events.policy import UNKNOWN_ITEMS, UnknownItems
from likewise.events.signals import DEFAULT_WEIGHTS, SignalRules

__all__ = [
    "DEFAULT_WEIGHTS",
    "UNKNOWN_ITEMS",
    "Event",
    "SignalRules",
    "UnknownItems",
    "load_events",
    "parse_event",
]
