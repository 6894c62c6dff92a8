"""What recording does with an event on an item the store does not have.

`reject` (the default): the event is refused, so its batch stores nothing: `NotFound` naming
its place when recorded (:func:`sort`), a problem of its line when imported (:func:`problems`).
`create`: the item is created with just its id, as Gorse does; later content fills it.
`skip`: the event is left out and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, cast, get_args

from likewise.errors import InvalidInput, NotFound
from likewise.events.model import Event
from likewise.events.signals import SignalRules

__all__ = [
    "UNKNOWN_ITEMS",
    "Sorted",
    "UnknownItems",
    "check_unknown_items",
    "problems",
    "sort",
]

UnknownItems = Literal["reject", "create", "skip"]
UNKNOWN_ITEMS: tuple[str, ...] = get_args(UnknownItems)


def check_unknown_items(value: object) -> UnknownItems:
    """A policy, or InvalidInput naming `unknown_items`."""
    if value not in UNKNOWN_ITEMS:
        raise InvalidInput(
            f"must be one of {', '.join(UNKNOWN_ITEMS)}, not {value!r}", field="unknown_items"
        )
    return cast(UnknownItems, value)


@dataclass
class Sorted:
    """A batch sorted by the policy: the events to record with their signals, the positions
    skipped, and the unknown items to create (each once, in order of first event)."""

    events: list[Event] = field(default_factory=list)
    signals: list[float] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    create: list[str] = field(default_factory=list)


def problems(
    events: Sequence[Event], known: Container[str], rules: SignalRules, policy: UnknownItems
) -> Iterator[tuple[int, InvalidInput]]:
    """Each event that cannot be recorded under `policy`, by position, with why (its field)."""
    for position, event in enumerate(events):
        try:
            rules.signal(event)
        except InvalidInput as exc:
            yield position, exc
            continue
        if policy == "reject" and event.item_id not in known:
            yield position, InvalidInput(f"unknown item {event.item_id!r}", field="item_id")


def sort(
    events: Sequence[Event],
    known: Container[str],
    rules: SignalRules,
    policy: UnknownItems,
    place: Callable[[int, str | None], str],
) -> Sorted:
    """The batch sorted by `policy`, each event's signal read once. A batch that cannot be
    recorded raises: InvalidInput for its first invalid event, else NotFound for its first
    event on an unknown item (`reject`: the request is well formed, the item is missing).
    `place` names a position's field."""
    signals: list[float] = []
    for position, event in enumerate(events):
        try:
            signals.append(rules.signal(event))
        except InvalidInput as exc:
            raise InvalidInput(exc.reason, field=place(position, exc.field)) from None
    out = Sorted()
    created: set[str] = set()
    for position, (event, signal) in enumerate(zip(events, signals, strict=True)):
        if event.item_id not in known:
            if policy == "reject":
                raise NotFound("item", event.item_id, field=place(position, "item_id"))
            if policy == "skip":
                out.skipped.append(position)
                continue
            if event.item_id not in created:
                created.add(event.item_id)
                out.create.append(event.item_id)
        out.events.append(event)
        out.signals.append(signal)
    return out
