"""Personalisation: events in, profiles updated, "for you" lists out.

The Engine delegates here; this module composes the store, the embedder, the pure profile
math in `likewise.profiles` and the ranker of `likewise.recommend`, and knows nothing of HTTP
or SQL.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from likewise.config import Settings
from likewise.embedders.base import Embedder
from likewise.errors import Conflict, InvalidInput, NotFound
from likewise.events.model import Event, check_user_id, parse_event
from likewise.events.policy import Sorted, UnknownItems, check_unknown_items, sort
from likewise.events.policy import problems as policy_problems
from likewise.items.model import ContentTemplate, Item
from likewise.profiles import (
    ProfileState,
    Snapshot,
    Step,
    apply,
    mean,
)
from likewise.profiles.batch import apply_many
from likewise.profiles.strategies import Vector
from likewise.ranking import ResultCache
from likewise.recommend import (
    Ranker,
    Recommendation,
    default_sources,
)
from likewise.retrieval import ItemItem
from likewise.retrieval.collaborative import OBSERVE_WINDOW
from likewise.retrieval.models import BEHAVIOUR, BLOBS, Models
from likewise.store import Entry, Store
from likewise.store.base import TEXT, ProfileUpdates

__all__ = ["Personaliser", "RecordReport"]

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


class Personaliser:
    """Events, profiles and recommendations over one store."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.config = settings.profiles
        self.limits = settings.limits.rules()  # ids, context size and depth of each event
        self.training = settings.training
        self.rules = settings.profiles.signal_rules()
        sources = default_sources(store, settings.ranking, lambda: self.models)
        self.ranker = Ranker(
            store, settings.ranking, settings.profiles, sources, lambda: self.models
        )
        self._models: Models | None = None
        self._checked = float("-inf")  # when the store's model version was last read
        self._loading = threading.Lock()
        self._loader: threading.Thread | None = None  # reads a newer bundle in the background

    @property
    def cache(self) -> ResultCache[Recommendation]:
        """The cache of hot results (the ranker's): touch it when what lists depend on changes."""
        return self.ranker.cache

    # -- events -----------------------------------------------------------------------------

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
        by_space = {TEXT: vectors}
        if BEHAVIOUR in spaces:
            by_space[BEHAVIOUR] = self.store.vectors(list(vectors), space=BEHAVIOUR)

        def update(
            batch: Sequence[tuple[ProfileState, Sequence[tuple[Event, float]]]],
        ) -> list[tuple[ProfileState, list[Snapshot]]]:
            """Every user of one space: the profile math over all of them at once."""
            steps = []
            for state, todo in batch:
                found = by_space[state.space]
                steps.append(
                    [
                        Step(e.item_id, found[e.item_id], s, e.timestamp)
                        for e, s in todo
                        if e.item_id in found
                    ]
                )
                if state.space == TEXT:
                    earlier = state.recent[-OBSERVE_WINDOW:]  # all that `observe` reads of it
                    for event, signal in todo:
                        if signal > 0:
                            pairs.append((earlier[-OBSERVE_WINDOW:], event.item_id))
                            earlier.append(event.item_id)
            return apply_many(
                [(state, mine) for (state, _), mine in zip(batch, steps, strict=True)],
                self.config,
            )

        self._create(plan.create)  # committed before the events that name them
        accepted = self.store.record(events, plan.signals, ProfileUpdates(update), spaces=spaces)
        loaded = self._models  # loaded by a hybrid request; `train` folds in the rest
        model = loaded.itemknn if loaded is not None else None
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
        info = self.store.info
        if not ids or info is None:
            return
        hashed = ContentTemplate.parse(info.template).content_hash
        items = [Item(id=item_id) for item_id in ids]
        vectors = self.embedder.embed(list(ids))
        self.store.upsert([Entry(i, hashed(i), v) for i, v in zip(items, vectors, strict=True)])

    def onboard(self, user_id: str, *, text: str | None = None, items: Sequence[str] = ()) -> None:
        """Start a new user's profile from onboarding text and/or chosen items."""
        check_user_id(user_id)
        parts: list[Vector] = []
        if text is not None:
            if not isinstance(text, str) or not text:  # blank: see items.model.check_text
                raise InvalidInput("must be a non-empty string", field="text")
            parts.append(self.embedder.embed([text])[0])
        found = self.store.vectors(items)
        for k, item_id in enumerate(items):
            if item_id not in found:
                raise NotFound("item", item_id, field=f"items[{k}]")
            parts.append(found[item_id])
        if not parts:
            raise InvalidInput("give onboarding words or at least one item", field="text")
        seed = mean(np.stack(parts))
        if seed is None:  # valid, but this store's model finds no direction in them: 409
            where = "text" if text is not None else "items"
            raise Conflict("the model places these nowhere: give other words or items", field=where)
        old = self.store.profile(user_id)
        if old is not None and old.positives:
            held = f"user {user_id!r} already has {old.positives} positive events"
            raise Conflict(f"{held}; onboarding is for new users", field="user_id")
        state = ProfileState.seeded(user_id, seed)
        if old is not None:
            state.events, state.negatives = old.events, old.negatives
            state.updated_at = old.updated_at
        self.store.put_profiles([(state, [])], replace=False)
        self.cache.touch_user(user_id)

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
                    states[key], snaps = apply(states[key], [step], self.config)
                    taken[key] += snaps
            if progress:
                progress(len(page))
        self.store.put_profiles([(s, taken[k]) for k, s in states.items()], replace=True)
        self.cache.touch_all()
        return len({user for user, _ in states})

    # -- training ---------------------------------------------------------------------------

    def train(
        self,
        *,
        tune: bool = False,
        neural_epochs: int | None = None,
        progress: Progress | None = None,
    ) -> Models:
        """Fit every model from the positive events (item-kNN; EASE and the next-item model
        over the `dense_items` most active items), fill the behaviour space and rebuild its
        profiles; with `tune`, fit the hybrid's weights on each user's validation item first.
        `neural_epochs` overrides the setting of that name (the neural model's passes).
        The bundle is kept in the store under a new version, which every server reloads."""
        from likewise import training

        config = self.training
        if neural_epochs is not None:
            config = config.model_copy(update={"neural_epochs": neural_epochs})
        training.check(config)  # before minutes of work: the neural extra is installed
        data = training.histories(self.store, progress)
        tuned, neural = (
            training.tune(self.store, data, config, self.config.alpha) if tune else (None, None)
        )
        if tuned is not None and "ease_lambda" in tuned.extra:
            config = config.model_copy(update={"ease_lambda": tuned.extra["ease_lambda"]})
        models, layout = training.fit(data, config, neural=neural)
        placed = training.train_behaviour(self.store, models, layout, self.training.behaviour_rank)
        models.info["behaviour_items"] = placed
        if tuned is not None:
            models.weights = tuned.weights
            if models.ease is not None and "ease_decay" in tuned.extra:
                models.ease.decay = tuned.extra["ease_decay"]
            models.info["tuning"] = tuned.as_dict()
        else:  # the weights tuned before stay until the next `--tune`
            previous = self.models
            models.weights = dict(previous.weights) if previous is not None else {}
        training.stamp(models)
        with self._loading:  # no reload of the older bundle until this one is stored
            self._models = models
            self._checked = float("inf")
        try:
            if placed:
                self.rebuild(space=BEHAVIOUR)
            self.store.put_blobs(models.to_blobs())  # all or none
        finally:
            self._checked = time.monotonic()
        self.cache.touch_all()
        return models

    @property
    def models(self) -> Models | None:
        """The trained models (None before the first `train`), reloaded from the store when
        another process trained a newer version (checked every `reload_seconds`)."""
        now = time.monotonic()
        if now - self._checked < self.training.reload_seconds:
            return self._models
        with self._loading:
            if now - self._checked >= self.training.reload_seconds:
                self._reload()
                self._checked = now
        return self._models

    def stale(self) -> None:
        """Another server stored a newer model: look for it at the next use, not later."""
        self._checked = float("-inf")

    def _reload(self) -> None:
        """Load a newer bundle: at once when none is loaded, else in a background thread
        (a large one takes seconds to read), serving the loaded one until it is swapped in."""
        meta = self.store.get_blob("model.meta")
        if self._models is not None and meta is not None:
            version = json.loads(meta).get("version")
            if version == self._models.version:
                return
        elif self._models is not None:
            return  # a model this process trained before the store kept any meta
        if self._models is None:
            self._swap(self._read())
        elif self._loader is None or not self._loader.is_alive():
            self._loader = threading.Thread(
                target=lambda: self._swap(self._read(), wait=True), daemon=True
            )
            self._loader.start()

    def _read(self) -> Models | None:
        return Models.from_blobs({key: self.store.get_blob(key) for key in BLOBS})

    def _swap(self, loaded: Models | None, *, wait: bool = False) -> None:
        if loaded is None:
            return
        if wait:
            with self._loading:
                self._models = loaded
        else:
            self._models = loaded
        self.cache.touch_all()

    def place(self, ids: Sequence[str]) -> int:
        """Give the items among `ids` that have no behaviour vector one from their content
        (the model's projection): new items can be recommended before the next `train`."""
        models = self.models
        if models is None or models.projection is None or not self.learned():
            return 0
        info = self.store.info
        if info is None or models.projection.shape[0] != info.dim:
            return 0  # fit on another embedder's vectors (before `reembed`): next `train`
        have = self.store.vectors(list(ids), space=BEHAVIOUR)
        text = self.store.vectors([i for i in ids if i not in have])
        if not text:
            return 0
        rows = np.stack(list(text.values())) @ models.projection
        self.store.put_vectors(BEHAVIOUR, dict(zip(text, rows, strict=True)))
        return len(text)

    def learned(self) -> bool:
        """Whether the trained models filled the behaviour space."""
        models = self.models
        return models is not None and models.learned

    @property
    def collaborative(self) -> ItemItem | None:
        """The trained item-item model (None before the first `train`)."""
        models = self.models
        return None if models is None else models.itemknn

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
