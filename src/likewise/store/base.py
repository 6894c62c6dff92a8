"""The Store contract every backend implements (embedded now, PostgreSQL later)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from likewise.errors import ConfigError
from likewise.items.model import Item

__all__ = ["METRICS", "Entry", "Hit", "Metric", "Store", "StoreInfo", "metric_of"]

Metric = Literal["cosine", "dot", "euclidean"]
METRICS: tuple[Metric, ...] = ("cosine", "dot", "euclidean")
Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class StoreInfo:
    """What a store was built with: vectors from another model cannot be mixed in."""

    model_id: str
    dim: int
    metric: Metric = "cosine"
    template: str = "title,body,tags"


@dataclass(frozen=True)
class Entry:
    """One item to write. `vector=None` keeps the vector the item already has."""

    item: Item
    content_hash: str
    vector: Vector | None


@dataclass(frozen=True)
class Hit:
    """A search result: higher `score` is closer (cosine or dot; minus the L2 distance)."""

    id: str
    score: float


class Store(Protocol):
    """Items, their vectors and filtered vector search."""

    @property
    def info(self) -> StoreInfo | None:
        """None until the store is initialised with :meth:`initialize`."""

    def initialize(self, info: StoreInfo) -> None:
        """Record the model, dimension and metric of a new, empty store."""

    def upsert(self, entries: Sequence[Entry]) -> None:
        """Write items and vectors in one durable transaction."""

    def delete(self, ids: Sequence[str]) -> int:
        """Remove items; returns how many existed."""

    def get(self, ids: Sequence[str]) -> list[Item]:
        """The stored items among `ids`, in the order asked (missing ones left out)."""

    def hashes(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """(content hash, record hash) of the stored items among `ids`."""

    def all_ids(self) -> list[str]:
        """Every stored item id."""

    def iter_items(self, batch: int = 1000) -> Iterator[list[Item]]:
        """Every stored item, in batches."""

    def vector(self, id: str) -> Vector:
        """The stored vector of one item (NotFound if missing)."""

    def search(
        self,
        vector: Vector,
        *,
        n: int,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
    ) -> list[Hit]:
        """The `n` nearest live items passing `where`, minus `exclude`, closest first."""

    def count(self, where: Mapping[str, Any] | None = None) -> int:
        """How many items pass `where`."""

    def replace_all(self, info: StoreInfo, entries: Sequence[Entry]) -> None:
        """Swap every vector (a new model): one transaction, then a fresh index."""

    def stats(self) -> dict[str, Any]:
        """Counts and sizes, for `likewise stats`."""

    def close(self) -> None:
        """Persist what is cheap to reload and release files."""


def metric_of(name: str) -> Metric:
    """Validate a metric name."""
    for metric in METRICS:
        if name == metric:
            return metric
    raise ConfigError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
