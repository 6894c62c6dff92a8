"""Personalisation: events in, profiles updated, "for you" lists out.

The Engine delegates here; this module composes the store, the embedder, the pure profile
math in `likewise.profiles`, the recording and replay of events (`likewise.recording`) and the
ranker of `likewise.recommend`, and knows nothing of HTTP or SQL.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from likewise.config import Settings
from likewise.embedders.base import Embedder
from likewise.errors import Conflict, InvalidInput, NotFound
from likewise.events.model import Event, check_user_id
from likewise.profiles import ProfileState, mean
from likewise.profiles.strategies import Vector
from likewise.ranking import ResultCache
from likewise.recommend import Ranker, Recommendation, default_sources
from likewise.recording import Progress, Recorder, RecordReport
from likewise.retrieval import ItemItem
from likewise.retrieval.models import BEHAVIOUR, BLOBS, Models
from likewise.store import Store

__all__ = ["Personaliser", "RecordReport"]


class Personaliser:
    """Events, profiles and recommendations over one store."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.config = settings.profiles
        self.training = settings.training
        sources = default_sources(store, settings.ranking, lambda: self.models)
        self.ranker = Ranker(
            store, settings.ranking, settings.profiles, sources, lambda: self.models
        )
        self._models: Models | None = None
        self._checked = float("-inf")  # when the store's model version was last read
        self._loading = threading.Lock()
        self._loader: threading.Thread | None = None  # reads a newer bundle in the background
        self.recorder = Recorder(
            store, embedder, settings, self.ranker.cache, lambda: self.models, lambda: self._models
        )

    @property
    def cache(self) -> ResultCache[Recommendation]:
        """The cache of hot results (the ranker's): touch it when what lists depend on changes."""
        return self.ranker.cache

    # -- events ---------------------------------------------------------------------------

    def record_many(
        self,
        records: Iterable[Event | Mapping[str, Any]],
        *,
        prefix: str = "events",
        unknown_items: str | None = None,
    ) -> RecordReport:
        """See :meth:`Recorder.record_many`."""
        return self.recorder.record_many(records, prefix=prefix, unknown_items=unknown_items)

    def problems(
        self, events: Sequence[Event], *, unknown_items: str | None = None
    ) -> list[tuple[int, InvalidInput]]:
        """Every event that could not be recorded, by position (a file import reports all)."""
        return self.recorder.problems(events, unknown_items=unknown_items)

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
        """Recompute every profile by replaying the event log (see :meth:`Recorder.rebuild`)."""
        return self.recorder.rebuild(progress=progress, space=space)

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
