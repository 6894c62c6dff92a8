"""The checks a store makes of what it is given: a space to create, vectors to write, a
query vector to search with. Each refusal names what is wrong."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from likewise.errors import ConfigError, InvalidInput
from likewise.store.base import Space, Vector, metric_of

__all__ = ["MAX_DIM", "check_query", "check_space", "check_vectors"]

_SPACE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_DIM = 65_536  # a space's largest dimension (faiss's index sizes are C ints)


def check_query(space: Space, vector: Vector, n: int) -> Vector:
    """A search's vector as float32, or InvalidInput naming `n` or `vector`."""
    if n < 1:
        raise InvalidInput("must be at least 1", field="n")
    vector = np.asarray(vector, dtype=np.float32)
    if vector.shape != (space.dim,) or not np.isfinite(vector).all():
        raise InvalidInput(
            f"must be {space.dim} finite numbers, got shape {vector.shape}", field="vector"
        )
    return vector


def check_space(space: Space, most: int = MAX_DIM, why: str = "") -> Space:
    """A space a store can create (of at most `most` dimensions, for reason `why`), or
    ConfigError naming what is wrong."""
    if not isinstance(space.name, str) or not _SPACE_NAME.match(space.name):
        raise ConfigError(
            f"space name {space.name!r}: use 1-32 of a-z, 0-9 and _, starting with a letter"
        )
    dim = space.dim
    if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= most:
        raise ConfigError(f"space {space.name!r}: dim must be an integer from 1 to {most:,}{why}")
    metric_of(space.metric)
    return space


def check_vectors(space: Space, vectors: Mapping[str, Any]) -> dict[str, Vector]:
    """Vectors for `space` as float32 rows, or InvalidInput naming the item and the reason."""
    out: dict[str, Vector] = {}
    for item_id, given in vectors.items():
        vector = np.asarray(given, dtype=np.float32)
        if vector.shape != (space.dim,):
            raise InvalidInput(
                f"vector of item {item_id!r} has shape {vector.shape}, space "
                f"{space.name!r} holds {space.dim}-d vectors",
                field="vector",
            )
        if not np.isfinite(vector).all():
            raise InvalidInput(f"vector of item {item_id!r} is not finite", field="vector")
        out[item_id] = vector
    return out
