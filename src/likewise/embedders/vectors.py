"""`vectors:<dim>`: no model at all. The store's `text` space holds the team's own vectors.

A team that already embeds its catalog (its own model, its own service) should not have to
run ours beside it. With this "model", every item brings its `text` vector
(`{"vectors": {"text": [...]}}`) and the store searches, relates and profiles with them as
with a model's. Nothing can be embedded from words, so a text search or onboarding from words
is a Conflict naming `text` that says to use a vector instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from likewise.embedders.base import Embedder, Vectors
from likewise.errors import Conflict

__all__ = ["PREFIX", "OwnVectors"]

PREFIX = "vectors:"


class OwnVectors(Embedder):
    """The `text` space of `dim` numbers that items fill themselves; it embeds nothing.

    Its `model_id` (`vectors:<dim>`) is what a store records, so the store opens again with
    it, and a reembed to a real model (or from one) works as between two models.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.model_id = f"{PREFIX}{dim}"
        self.batch_size = 1024

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        raise Conflict(
            f"this store has no text model: its text space holds your own {self.dim}-d "
            f"vectors ({self.model_id}), so words cannot be placed in it; search by vector "
            "(search_vector, POST /v1/search with a vector, `likewise search --vector`) and "
            "give each item its vectors.text",
            field="text",
        )
