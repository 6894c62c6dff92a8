"""Events in, and the replay of the log: the two ways a profile is made, kept side by side.

`Recorder.record_many` validates a batch, sorts it by the unknown-items policy and hands the
store the events with one `ProfileUpdates` per space, so every user's profile moves in the same
transaction as the events. `Recorder.rebuild` replays the whole log through the same math, and
must give the very same profiles (tested bit for bit): that is why both live in this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from likewise.config import Settings
from likewise.embedders.base import Embedder
from likewise.errors import InvalidInput
from likewise.events.model import Event, parse_event
from likewise.events.policy import Sorted, UnknownItems, check_unknown_items, sort
from likewise.events.policy import problems as policy_problems
from likewise.items.model import ContentTemplate, Item
from likewise.profiles import ProfileState, Snapshot, Step, apply
from likewise.profiles.batch import apply_many
from likewise.profiles.strategies import Vector
from likewise.ranking import ResultCache
from likewise.recommend import Recommendation
from likewise.retrieval.collaborative import OBSERVE_WINDOW
from likewise.retrieval.models import BEHAVIOUR, Models
from likewise.store import Entry, Store
from likewise.store.base import TEXT, ProfileUpdates

__all__ = ["RecordReport", "Recorder"]

Progress = Callable[[int], object]


@dataclass
class RecordReport:
    """`accepted` events were appended; `duplicates` had an `event_id` already stored;
    `skipped` were on unknown items (policy `skip`); `created` items were made from events
    (policy `create`)."""

    accepted: int = 0
    duplicates: int = 0
    skipped: int = 0
    created: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Recorder:
    """Records events over one store and replays its log.

    `models` reads the trained bundle (reloading a newer one, as serving does): it decides
    whether the behaviour space has profiles. `loaded` is the bundle already in memory, whose
    item-kNN model takes the new pairs without a reload. `cache` is the ranker's cache of hot
    results, touched for every user whose profile moved.
    """

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        settings: Settings,
        cache: ResultCache[Recommendation],
        models: Callable[[], Models | None],
        loaded: Callable[[], Models | None],
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.config = settings.profiles
        self.limits = settings.limits.rules()  # ids, context size and depth of each event
        self.rules = settings.profiles.signal_rules()
        self.cache = cache
        self.models = models
        self.loaded = loaded

    def learned(self) -> bool:
        """Whether the trained models filled the behaviour space (it then has profiles)."""
        models = self.models()
        return models is not None and models.learned

    def record_many(
        self,
        records: Iterable[Event | Mapping[str, Any]],
        *,
        prefix: str = "events",
        unknown_items: str | None = None,
    ) -> RecordReport:
        """Validate every event first (nothing is stored if one is bad), then append them.
        An event on an unknown item follows `unknown_items` (default: the setting): `reject`
        it as invalid, `skip` it, or `create` the item first (see :meth:`_create`)."""
        policy = check_unknown_items(unknown_items or self.config.unknown_items)
        plan, vectors = self._prepare(records, prefix, policy)
        events = plan.events
        pairs: list[tuple[list[str], str]] = []  # (earlier positives, new positive item)

        spaces = (TEXT, BEHAVIOUR) if self.learned() else (TEXT,)
        self._create(plan.create)  # committed before the events that name them
        if plan.create:  # with the vectors just made, as the replay of the log will see them
            vectors.update(self.store.vectors(plan.create))
        by_space = {TEXT: vectors}
        if BEHAVIOUR in spaces:
            by_space[BEHAVIOUR] = self.store.vectors(list(vectors), space=BEHAVIOUR)
        loaded = self.loaded()  # loaded by a hybrid request; `train` folds in the rest
        model = loaded.itemknn if loaded is not None else None

        def update(
            batch: Sequence[tuple[ProfileState, Sequence[tuple[Event, float]]]],
        ) -> list[tuple[ProfileState, list[Snapshot]]]:
            """Every user of one space: the profile math over all of them at once."""
            work = []
            for state, todo in batch:
                found = by_space[state.space]
                steps = [
                    Step(e.item_id, vector, s, e.timestamp)
                    for e, s in todo
                    if (vector := found.get(e.item_id)) is not None
                ]
                work.append((state, steps))
                if model is not None and state.space == TEXT:
                    earlier = state.recent[-OBSERVE_WINDOW:]  # all that `observe` reads of it
                    for event, signal in todo:
                        if signal > 0:
                            pairs.append((earlier[-OBSERVE_WINDOW:], event.item_id))
                            earlier.append(event.item_id)
            return apply_many(work, self.config, owned=True)  # the store's, made for this

        accepted = self.store.record(events, plan.signals, ProfileUpdates(update), spaces=spaces)
        if model is not None:  # committed: fold the new pairs into the collaborative model
            for earlier, item in pairs:
                model.observe(earlier, item)
        self.cache.touch_user(*{e.user_id for e, new in zip(events, accepted, strict=True) if new})
        new = sum(accepted)
        return RecordReport(new, len(accepted) - new, len(plan.skipped), len(plan.create))

    def problems(
        self, events: Sequence[Event], *, unknown_items: str | None = None
    ) -> list[tuple[int, InvalidInput]]:
        """Every event that could not be recorded, by position (a file import reports all)."""
        policy = check_unknown_items(unknown_items or self.config.unknown_items)
        return list(policy_problems(events, self._known(events), self.rules, policy))

    def _prepare(
        self, records: Iterable[Event | Mapping[str, Any]], prefix: str, policy: UnknownItems
    ) -> tuple[Sorted, dict[str, Vector]]:
        events: list[Event] = []
        for position, record in enumerate(records):
            try:
                events.append(parse_event(record, limits=self.limits))
            except InvalidInput as exc:
                raise InvalidInput(exc.reason, field=_field(prefix, position, exc.field)) from None
        vectors = self._known(events)
        plan = sort(events, vectors, self.rules, policy, lambda k, f: _field(prefix, k, f))
        return plan, vectors

    def _known(self, events: Sequence[Event]) -> dict[str, Vector]:  # text vectors: items
        return self.store.vectors(list({e.item_id: None for e in events}))

    def _create(self, ids: Sequence[str]) -> None:
        """Create items with just their id, committed before the events that name them (a
        crash between leaves items without events; a re-run records the events). Each one's
        text vector embeds its id, not the empty text, so they do not crowd content search
        as one shared vector; see the README ("Events on unknown items")."""
        if not ids:
            return
        info = self.store.info
        if info is None:
            return
        hashed = ContentTemplate.parse(info.template).content_hash
        items = [Item(id=item_id) for item_id in ids]
        vectors = self.embedder.embed(list(ids))
        self.store.upsert([Entry(i, hashed(i), v) for i, v in zip(items, vectors, strict=True)])

    def rebuild(self, *, progress: Progress | None = None, space: str | None = None) -> int:
        """Recompute every profile by replaying the event log; returns the users rebuilt.

        Run it after changing alpha, beta or the signal mapping, or after `reembed`. Events
        recorded while it runs are overwritten; events on deleted items are skipped. Every
        space's profiles are rebuilt (`text`, and `behaviour` once trained) unless `space`.
        """
        spaces = [space] if space else [TEXT, *([BEHAVIOUR] if self.learned() else [])]
        states: dict[tuple[str, str], ProfileState] = {}
        taken: dict[tuple[str, str], list[Snapshot]] = {}
        for page in self.store.events():
            ids = list({e.item_id: None for e, _ in page})
            found = {name: self.store.vectors(ids, space=name) for name in spaces}
            for event, signal in page:
                for name in spaces:
                    key = (event.user_id, name)
                    if key not in states:
                        old = self.store.profile(event.user_id, space=name)
                        seed = old.seed if old else None
                        states[key] = ProfileState.seeded(event.user_id, seed, space=name)
                        taken[key] = []
                    vectors = found[name]
                    if event.item_id not in vectors:
                        continue
                    step = Step(event.item_id, vectors[event.item_id], signal, event.timestamp)
                    states[key], snaps = apply(states[key], [step], self.config, owned=True)
                    taken[key] += snaps
            if progress:
                progress(len(page))
        self.store.put_profiles([(s, taken[k]) for k, s in states.items()], replace=True)
        self.cache.touch_all()
        return len({user for user, _ in states})


def _field(prefix: str, position: int, name: str | None) -> str:
    return f"{prefix}[{position}].{name or ''}".rstrip(".") if prefix else name or ""
