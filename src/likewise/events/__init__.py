"""Events: what users do to items, validated, and the taste signal each one carries."""

from likewise.events.loaders import load_events
from likewise.events.model import Event, parse_event
from likewise.events.signals import DEFAULT_WEIGHTS, SignalRules

__all__ = ["DEFAULT_WEIGHTS", "Event", "SignalRules", "load_events", "parse_event"]
