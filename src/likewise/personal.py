"""Personalisation: events in, profiles updated, "for you" lists out.

The Engine delegates here; this module composes the store, the embedder, the pure profile
math in `likewise.profiles` and the ranker of `likewise.recommend`, and knows nothing of HTTP
or SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from likewise.config import Settings
from likewise.embedders.base import Embedder
from likewise.errors import Conflict, InvalidInput
from likewise.events.model import Event, check_user_id, parse_event
from likewise.profiles import (
    ProfileState,
    Snapshot,
    Step,
    apply,
    mean,
)
from likewise.profiles.strategies import Vector
from likewise.ranking import ResultCache
from likewise.recommend import (
    Ranker,
    Recommendation,
    default_sources,
)
from likewise.retrieval import ItemItem
from likewise.store import Store

__all__ = ["Personaliser", "RecordReport"]

Progress = Callable[[int], object]
COLLABORATIVE = "item-item"  # the store blob of the trained model


@dataclass
class RecordReport:
    """`accepted` events were appended; `duplicates` had an `event_id` already stored."""

    accepted: int = 0
    duplicates: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Personaliser:
    """Events, profiles and recommendations over one store."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.config = settings.profiles
        self.rules = settings.profiles.signal_rules()
        sources = default_sources(store, settings.ranking, lambda: self.collaborative)
        self.ranker = Ranker(store, settings.ranking, settings.profiles, sources)
        self._collaborative: ItemItem | None = None

    @property
    def cache(self) -> ResultCache[Recommendation]:
        """The cache of hot results (the ranker's): touch it when what lists depend on changes."""
        return self.ranker.cache

    # -- events -----------------------------------------------------------------------------

    def record_many(
        self, records: Iterable[Event | Mapping[str, Any]], *, prefix: str = "events"
    ) -> RecordReport:
        """Validate every event first (nothing is stored if one is bad), then append them."""
        events, signals, vectors = self._prepare(records, prefix)
        pairs: list[tuple[list[str], str]] = []  # (earlier positives, new positive item)

        def update(
            state: ProfileState, todo: Sequence[tuple[Event, float]]
        ) -> tuple[ProfileState, list[Snapshot]]:
            steps = [Step(e.item_id, vectors[e.item_id], s, e.timestamp) for e, s in todo]
            new, snapshots = apply(state, steps, self.config)
            earlier = list(state.recent)
            for event, signal in todo:
                if signal > 0:
                    pairs.append((list(earlier), event.item_id))
                    earlier.append(event.item_id)
            return new, snapshots

        accepted = self.store.record(events, signals, update)
        model = self._collaborative  # loaded by a hybrid request; `train` folds in the rest
        if model is not None:  # committed: fold the new pairs into the collaborative model
            for earlier, item in pairs:
                model.observe(earlier, item)
        self.cache.touch_user(*{e.user_id for e, new in zip(events, accepted, strict=True) if new})
        return RecordReport(sum(accepted), len(accepted) - sum(accepted))

    def problems(self, events: Sequence[Event]) -> list[tuple[int, InvalidInput]]:
        """Every event that could not be recorded, by position (a file import reports all)."""
        found = self.store.vectors(list({e.item_id: None for e in events}))
        out: list[tuple[int, InvalidInput]] = []
        for position, event in enumerate(events):
            try:
                self._check(event, found)
            except InvalidInput as exc:
                out.append((position, exc))
        return out

    def _check(self, event: Event, vectors: Mapping[str, Vector]) -> float:
        signal = self.rules.signal(event)
        if event.item_id not in vectors:
            raise InvalidInput(f"unknown item {event.item_id!r}", field="item_id")
        return signal

    def _prepare(
        self, records: Iterable[Event | Mapping[str, Any]], prefix: str
    ) -> tuple[list[Event], list[float], dict[str, Vector]]:
        events: list[Event] = []
        for position, record in enumerate(records):
            try:
                events.append(parse_event(record))
            except InvalidInput as exc:
                raise InvalidInput(exc.reason, field=_field(prefix, position, exc.field)) from None
        vectors = self.store.vectors(list({e.item_id: None for e in events}))
        signals: list[float] = []
        for position, event in enumerate(events):
            try:
                signals.append(self._check(event, vectors))
            except InvalidInput as exc:
                raise InvalidInput(exc.reason, field=_field(prefix, position, exc.field)) from None
        return events, signals, vectors

    def onboard(self, user_id: str, *, text: str | None = None, items: Sequence[str] = ()) -> None:
        """Start a new user's profile from onboarding text and/or chosen items."""
        check_user_id(user_id)
        parts: list[Vector] = []
        if text is not None:
            if not isinstance(text, str) or not text.strip():
                raise InvalidInput("must be a non-empty string", field="text")
            parts.append(self.embedder.embed([text])[0])
        found = self.store.vectors(items)
        for item_id in items:
            if item_id not in found:
                raise InvalidInput(f"unknown item {item_id!r}", field="items")
            parts.append(found[item_id])
        seed = mean(np.stack(parts)) if parts else None
        if seed is None:
            raise InvalidInput("give onboarding text or at least one item", field="text")
        old = self.store.profile(user_id)
        if old is not None and old.positives:
            raise Conflict(
                f"user {user_id!r} already has {old.positives} positive events; onboarding "
                "is for new users",
                field="user_id",
            )
        state = ProfileState.seeded(user_id, seed)
        if old is not None:
            state.events, state.negatives, state.updated_at = (
                old.events,
                old.negatives,
                old.updated_at,
            )
        self.store.put_profiles([(state, [])], replace=False)
        self.cache.touch_user(user_id)

    def rebuild(self, *, progress: Progress | None = None) -> int:
        """Recompute every profile by replaying the event log; returns the users rebuilt.

        Run it after changing alpha, beta or the signal mapping, or after `reembed`. Events
        recorded while it runs are overwritten; events on deleted items are skipped.
        """
        states: dict[str, ProfileState] = {}
        taken: dict[str, list[Snapshot]] = {}
        for page in self.store.events():
            vectors = self.store.vectors(list({e.item_id: None for e, _ in page}))
            for event, signal in page:
                user = event.user_id
                if user not in states:
                    old = self.store.profile(user)
                    states[user] = ProfileState.seeded(user, old.seed if old else None)
                    taken[user] = []
                if event.item_id not in vectors:
                    continue
                step = Step(event.item_id, vectors[event.item_id], signal, event.timestamp)
                states[user], snaps = apply(states[user], [step], self.config)
                taken[user] += snaps
            if progress:
                progress(len(page))
        self.store.put_profiles([(s, taken[u]) for u, s in states.items()], replace=True)
        self.cache.touch_all()
        return len(states)

    # -- training ---------------------------------------------------------------------------

    def train(self, *, k: int = 100, progress: Progress | None = None) -> int:
        """Fit item-item co-occurrence from every user's positive events; returns the items
        it knows. Run it as events accumulate (`likewise train`); it is kept in the store."""
        histories: dict[str, list[str]] = {}
        for page in self.store.events():
            for event, signal in page:
                if signal > 0:
                    history = histories.setdefault(event.user_id, [])
                    if event.item_id in history:
                        history.remove(event.item_id)
                    history.append(event.item_id)
            if progress:
                progress(len(page))
        model = ItemItem.fit(list(histories.values()), k=k)
        self.store.put_blob(COLLABORATIVE, model.to_bytes())
        self._collaborative = model
        self.cache.touch_all()
        return len(model.items)

    @property
    def collaborative(self) -> ItemItem | None:
        """The trained item-item model (None before the first `train`)."""
        if self._collaborative is None:
            data = self.store.get_blob(COLLABORATIVE)
            if data is not None:
                self._collaborative = ItemItem.from_bytes(data)
        return self._collaborative

    def profile(self, user_id: str, *, n: int = 5) -> dict[str, Any]:
        """What likewise knows of a user: counts, settings and the items nearest their taste."""
        state = self.store.profile(user_id)
        if state is None:
            return {"user_id": user_id, "events": 0, "strategy": "popular", "nearest": []}
        strategy = self.ranker.config.strategy
        vector = self.ranker.interest(state, strategy)
        nearest = self.store.search(vector, n=n) if vector is not None else []
        snapshots = self.store.snapshots(user_id, self.config.history)
        return {
            "user_id": user_id,
            "events": state.events,
            "positives": state.positives,
            "negatives": state.negatives,
            "updated_at": state.updated_at,
            "strategy": strategy if vector is not None else "popular",
            "settings": self.config.profile_math(),
            "onboarded": state.seed is not None,
            "recent_positives": state.recent[-10:],
            "snapshots_used": len(snapshots),
            "nearest": [{"id": h.id, "score": h.score} for h in nearest],
        }


def _field(prefix: str, position: int, name: str | None) -> str:
    return f"{prefix}[{position}].{name or ''}".rstrip(".") if prefix else name or ""
