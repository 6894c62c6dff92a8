"""Small, exact values the contract suites build stores from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from likewise.items.model import Item
from likewise.store.base import Entry, Store, StoreInfo

__all__ = ["DIM", "INFO", "Opener", "axis", "entry", "unit"]

DIM = 8
INFO = StoreInfo("contract-test", DIM)
Opener = Callable[[], Store]


def unit(values: list[float]) -> np.ndarray[Any, np.dtype[np.float32]]:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def axis(i: int, tilt: float = 0.0, dim: int = DIM) -> np.ndarray[Any, np.dtype[np.float32]]:
    """A unit vector near axis `i % dim`; a larger `tilt` leans it towards the next axis."""
    v = np.zeros(dim, dtype=np.float32)
    v[i % dim] = 1.0
    v[(i + 1) % dim] = tilt
    return unit(v.tolist())


def entry(item_id: str, vector: Any = None, **fields: Any) -> Entry:
    item = Item.model_validate({"id": item_id, "title": f"title {item_id}", **fields})
    return Entry(item, f"hash-{item_id}-{fields.get('title', '')}", vector)
