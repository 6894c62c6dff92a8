"""The learning half of the Engine: fitting the models "for you" lists and related items use."""

from __future__ import annotations

from typing import Any

from likewise.engine.ingest import Progress
from likewise.errors import InvalidInput
from likewise.personal import Personaliser

__all__ = ["Learning"]


class Learning:
    """`train` and `model`, mixed into the Engine, which owns `personal`."""

    personal: Personaliser

    def train(
        self,
        *,
        tune: bool = False,
        neural_epochs: int | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Fit the models the hybrid blends and the `behaviour` space from the event log:
        item-kNN, EASE and the next-item model, whose item vectors fill `behaviour` (items
        with no events are placed there from their content). With `tune`, the hybrid's
        weights are fit on each user's validation item and kept with the model. With
        `neural_epochs` (or the setting), the neural next-item model (SASRec, the
        `likewise[neural]` extra) is trained too. Returns what was fit (see :meth:`model`)."""
        if neural_epochs is not None and neural_epochs < 0:
            raise InvalidInput("must be 0 or more", field="neural_epochs")
        self.personal.train(tune=tune, neural_epochs=neural_epochs, progress=progress)
        return self.model() or {}

    def model(self) -> dict[str, Any] | None:
        """What the trained models are (None before :meth:`train`): version, when, items,
        users, fit seconds, the hybrid's weights in use and the tuning that chose them."""
        models = self.personal.models
        if models is None:
            return None
        return {**models.info, "weights": self.personal.ranker.weights()}
