"""Metadata held by column, so a filter becomes a few numpy operations over every label.

A scalar value lives in dense per-label arrays (an equality code, a number, a date), so a
condition is one vectorised comparison. The elements of list values (tags) live in an inverted
index from value to labels, with (label, number) and (label, date) pairs for ranges. Labels
only grow: a changed item gets a new label and the old one is masked out by the index.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from likewise.filters import And, Cond, Filter, Not, Or, ValueKey, parse_date, value_key

__all__ = ["Columns"]

Mask = npt.NDArray[np.bool_]
_RANGE = {"gt": np.greater, "gte": np.greater_equal, "lt": np.less, "lte": np.less_equal}


class _Dense:
    """One value per label, `missing` where there is none; grows by doubling."""

    def __init__(self, dtype: type, missing: Any) -> None:
        self.missing = missing
        self.data: npt.NDArray[Any] = np.full(0, missing, dtype=dtype)

    def set(self, label: int, value: Any) -> None:
        if label >= len(self.data):
            grown = np.full(max(label + 1, 2 * len(self.data), 1024), self.missing, self.data.dtype)
            grown[: len(self.data)] = self.data
            self.data = grown
        self.data[label] = value

    def view(self, size: int) -> npt.NDArray[Any]:
        if len(self.data) >= size:
            return self.data[:size]
        out = np.full(size, self.missing, dtype=self.data.dtype)
        out[: len(self.data)] = self.data
        return out


class _Growing:
    """An append-only list with a cached numpy copy."""

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


class _Field:
    def __init__(self) -> None:
        self.present = _Dense(np.bool_, False)
        self.codes: dict[ValueKey, int] = {}
        self.code = _Dense(np.int32, -1)  # equality code of a scalar value
        self.num = _Dense(np.float64, np.nan)
        self.date = _Dense(np.float64, np.nan)
        # elements of list values
        self.postings: dict[ValueKey, _Growing] = {}
        self.pairs = {kind: (_Growing(np.int64), _Growing(np.float64)) for kind in "nd"}

    def add(self, label: int, value: Any) -> None:
        if value is None or value == []:
            return
        self.present.set(label, True)
        if not isinstance(value, list | tuple):
            key = value_key(value)
            if key is not None:
                self.code.set(label, self.codes.setdefault(key, len(self.codes)))
                if key[0] == "n":
                    self.num.set(label, key[1])
                elif key[0] == "s" and (stamp := parse_date(key[1])) is not None:
                    self.date.set(label, stamp)
            return
        for element in value:
            key = value_key(element)
            if key is None:
                continue
            self.postings.setdefault(key, _Growing(np.int64)).append(label)
            stamp = parse_date(key[1]) if key[0] == "s" else None
            if key[0] == "n" or stamp is not None:
                labels, values = self.pairs["n" if stamp is None else "d"]
                labels.append(label)
                values.append(key[1] if stamp is None else stamp)

    def equal(self, keys: Iterable[ValueKey], size: int) -> Mask:
        codes = [self.codes[k] for k in keys if k in self.codes]
        column = self.code.view(size)
        out = np.isin(column, codes) if len(codes) > 1 else column == (codes or [-2])[0]
        for key in keys:
            if key in self.postings:
                labels = self.postings[key].array()
                out[labels[labels < size]] = True
        return out

    def range(self, op: str, kind: str, bound: float, size: int) -> Mask:
        out: Mask = _RANGE[op]((self.num if kind == "n" else self.date).view(size), bound)
        labels, values = self.pairs[kind]
        if labels.items:
            hit = labels.array()[_RANGE[op](values.array(), bound)]
            out[hit[hit < size]] = True
        return out


class Columns:
    """The filterable fields of every label (metadata keys and `tags`)."""

    def __init__(self) -> None:
        self.fields: dict[str, _Field] = {}

    def add(self, label: int, fields: Mapping[str, Any]) -> None:
        known = self.fields
        for name, value in fields.items():
            field = known.get(name)
            if field is None:  # not setdefault: a _Field (8 arrays) made per call cost 20 us
                field = known[name] = _Field()
            field.add(label, value)

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
            present = col.present.view(size).copy()
            return present if cond.value else ~present
        if op in ("eq", "ne"):
            hit = col.equal([cond.value], size)
            return hit if op == "eq" else ~hit
        if op in ("in", "any", "nin"):
            hit = col.equal(cond.value, size)
            return ~hit if op == "nin" else hit
        if op == "all":
            out = np.ones(size, dtype=bool)
            for key in cond.value:
                out &= col.equal([key], size)
            return out
        kind, bound = cond.value
        return col.range(op, kind, bound, size)
