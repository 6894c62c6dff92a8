"""The shadow of the `text` space: the vectors of another model, written beside the current
ones in durable batches by `reembed`, and swapped in when every item has one.

Search, similar items and "for you" lists keep reading the current vectors all the while. An
item's shadow vector is written only if the item still has the content it was embedded from,
and an item whose text changes meanwhile loses it, so the swap never takes a stale vector.
The swap is one transaction: the store's model and dimension, the vectors and their index
change together (the index was built as the batches came in), and the `text` profiles,
vectors of the old model, are dropped, to be rebuilt from the event log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["PROFILE_TABLES", "SHADOW", "Shadow", "ShadowRow", "Shadowing"]

# The name the embedded store keeps the shadow's tables and snapshot under: a user's space
# must start with a letter, so none can take it.
SHADOW = "_next"
# The swap empties them of the `text` space: they hold vectors of the old model.
PROFILE_TABLES = ("profiles", "profile_history")


@dataclass(frozen=True)
class Shadow:
    """The model a shadow is being filled by: its id and dimension (the metric is the
    store's own, as the content template is)."""

    model_id: str
    dim: int


@dataclass(frozen=True)
class ShadowRow:
    """An item's vector from the shadow's model, and the content hash of the text it was
    embedded from (the row is not written if the item's content has changed since)."""

    id: str
    content_hash: str
    vector: npt.NDArray[np.float32]


class Shadowing(Protocol):
    """The shadow half of a `Store`."""

    def shadow(self) -> Shadow | None:
        """The shadow being filled, None if there is none."""

    def begin_shadow(self, shadow: Shadow) -> None:
        """Start an empty shadow for `shadow`'s model (Conflict if another model's exists;
        a no-op if this one's does)."""

    def put_shadow(self, rows: Sequence[ShadowRow]) -> int:
        """Write shadow vectors in one durable transaction; returns how many were written
        (a row whose item is gone or has other content now is left out). InvalidInput,
        nothing written, if a vector is not of the shadow's dimension or not finite."""

    def shadow_missing(self) -> list[str]:
        """The ids of the items with no shadow vector yet, sorted."""

    def swap_shadow(self) -> None:
        """Make the shadow the `text` space in one transaction (the store's model and
        dimension switched, the old vectors dropped, and with them the profiles and
        snapshots of the `text` space, which are the old model's vectors: a user has none
        there until their next event or a rebuild); Conflict, nothing changed, while an
        item lacks a shadow vector."""

    def drop_shadow(self) -> None:
        """Discard the shadow and its vectors (a no-op if there is none)."""
