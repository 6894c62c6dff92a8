"""Metadata held by column, so a filter becomes a few numpy operations over every label.

Each field keeps an inverted index from value to labels (equality, `in`, tags), and sorted-free
arrays of (label, number) and (label, date) pairs (ranges). Labels only grow: a changed item
gets a new label and the old one is masked out by the index's `alive` mask.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from likewise.store.filters import And, Cond, Filter, Not, Or, ValueKey, parse_date, value_key

__all__ = ["Columns"]

Mask = npt.NDArray[np.bool_]
_RANGE = {"gt": np.greater, "gte": np.greater_equal, "lt": np.less, "lte": np.less_equal}
Labels = npt.NDArray[np.int64]


class _Growing:
    """An append-only int/float list with a cached numpy view."""

    def __init__(self, dtype: type) -> None:
        self.dtype = dtype
        self.items: list[float] = []
        self._array: npt.NDArray[Any] | None = None

    def append(self, value: float) -> None:
        self.items.append(value)
        self._array = None

    def array(self) -> npt.NDArray[Any]:
        if self._array is None:
            self._array = np.asarray(self.items, dtype=self.dtype)
        return self._array

    def __getstate__(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "items": self.items, "_array": None}


@dataclass
class _Field:
    present: _Growing = field(default_factory=lambda: _Growing(np.int64))
    equal: dict[ValueKey, _Growing] = field(default_factory=dict)
    num_labels: _Growing = field(default_factory=lambda: _Growing(np.int64))
    num_values: _Growing = field(default_factory=lambda: _Growing(np.float64))
    date_labels: _Growing = field(default_factory=lambda: _Growing(np.int64))
    date_values: _Growing = field(default_factory=lambda: _Growing(np.float64))

    def add(self, label: int, value: Any) -> None:
        if value is None or value == []:
            return
        self.present.append(label)
        for element in value if isinstance(value, list | tuple) else [value]:
            key = value_key(element)
            if key is None:
                continue
            self.equal.setdefault(key, _Growing(np.int64)).append(label)
            if key[0] == "n":
                self.num_labels.append(label)
                self.num_values.append(key[1])
            elif key[0] == "s" and (stamp := parse_date(key[1])) is not None:
                self.date_labels.append(label)
                self.date_values.append(stamp)


class Columns:
    """The filterable fields of every label (metadata keys and `tags`)."""

    def __init__(self) -> None:
        self.fields: dict[str, _Field] = {}

    def add(self, label: int, fields: Mapping[str, Any]) -> None:
        for name, value in fields.items():
            self.fields.setdefault(name, _Field()).add(label, value)

    def mask(self, node: Filter, size: int) -> Mask:
        """Which of labels 0..size-1 pass the filter (dead labels included; mask them after)."""
        if isinstance(node, And):
            out = np.ones(size, dtype=bool)
            for part in node.parts:
                out &= self.mask(part, size)
            return out
        if isinstance(node, Or):
            out = np.zeros(size, dtype=bool)
            for part in node.parts:
                out |= self.mask(part, size)
            return out
        if isinstance(node, Not):
            return ~self.mask(node.part, size)
        return self._cond(node, size)

    def _cond(self, cond: Cond, size: int) -> Mask:
        col = self.fields.get(cond.field) or _Field()
        op = cond.op
        if op == "exists":
            hit = _labels_mask([col.present.array()], size)
            return hit if cond.value else ~hit
        if op in ("eq", "ne"):
            hit = _labels_mask(_postings(col, [cond.value]), size)
            return hit if op == "eq" else ~hit
        if op in ("in", "any", "nin"):
            hit = _labels_mask(_postings(col, cond.value), size)
            return ~hit if op == "nin" else hit
        if op == "all":
            out = np.ones(size, dtype=bool)
            for key in cond.value:
                out &= _labels_mask(_postings(col, [key]), size)
            return out
        kind, bound = cond.value
        labels, values = (
            (col.num_labels, col.num_values) if kind == "n" else (col.date_labels, col.date_values)
        )
        keep = _RANGE[op](values.array(), bound)
        return _labels_mask([labels.array()[keep]], size)


def _postings(col: _Field, keys: Iterable[ValueKey]) -> list[Labels]:
    return [col.equal[k].array() for k in keys if k in col.equal]


def _labels_mask(parts: list[Labels], size: int) -> Mask:
    out = np.zeros(size, dtype=bool)
    for labels in parts:
        out[labels[labels < size]] = True
    return out
