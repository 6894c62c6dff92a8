"""The vector index's knob of `StoreConfig`: how a new embedded store keeps its vectors.

`vector_storage = "fp16"` halves the memory of the vectors (at 1M x 384: 0.77 GB instead of
1.5 GB) for scores within about 1e-3 of exact and no measurable recall cost on normalised
embeddings (bench/search.py). It is chosen when a store is created and recorded in it: a store
opens with what it was built with, whatever this setting says later.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["IndexKnobs", "VectorStorage"]

VectorStorage = Literal["float32", "fp16"]  # store/embedded/storage.py's, checked by a test


class IndexKnobs(BaseModel):
    """How a new embedded store's vector indexes keep their vectors (a part of `StoreConfig`,
    declared here: that module is full)."""

    vector_storage: VectorStorage = Field(
        "float32",
        description="how a new embedded store keeps vectors in its index: float32, or fp16 "
        "(half the memory, scores within about 1e-3); recorded in the store when created",
    )
