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

    def set_many(self, labels: list[int], values: Any) -> None:
        """`set` of each label (ascending) to its value, in one assignment."""
        if not labels:
            return
        if labels[-1] >= len(self.data):
            size = max(len(self.data), 512)
            while size <= labels[-1]:
                size *= 2
            grown = np.full(size, self.missing, self.data.dtype)
            grown[: len(self.data)] = self.data
            self.data = grown
        self.data[labels] = values

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

    def add(self, labels: list[int], values: list[Any]) -> None:
        """Each label's value (labels ascending): the dense columns are set at once."""
        present: list[int] = []
        coded: tuple[list[int], list[int]] = ([], [])
        nums: tuple[list[int], list[float]] = ([], [])
        dates: tuple[list[int], list[float]] = ([], [])
        codes = self.codes
        for label, value in zip(labels, values, strict=True):
            if value is None or value == []:
                continue
            present.append(label)
            if isinstance(value, list | tuple):
                self._add_list(label, value)
                continue
            key = value_key(value)
            if key is None:
                continue
            coded[0].append(label)
            coded[1].append(codes.setdefault(key, len(codes)))
            if key[0] == "n":
                nums[0].append(label)
                nums[1].append(key[1])
            elif key[0] == "s" and (stamp := parse_date(key[1])) is not None:
                dates[0].append(label)
                dates[1].append(stamp)
        self.present.set_many(present, True)
        self.code.set_many(*coded)
        self.num.set_many(*nums)
        self.date.set_many(*dates)

    def _add_list(self, label: int, value: list[Any] | tuple[Any, ...]) -> None:
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

    def add(self, labels: Iterable[int], rows: Iterable[Mapping[str, Any]]) -> None:
        """The fields of each new label (ascending), a field at a time (one numpy assignment
        per column, not one per value)."""
        by_field: dict[str, tuple[list[int], list[Any]]] = {}
        for label, fields in zip(labels, rows, strict=True):
            for name, value in fields.items():
                found = by_field.get(name)
                if found is None:
                    found = by_field[name] = ([], [])
                found[0].append(label)
                found[1].append(value)
        known = self.fields
        for name, (labels, values) in by_field.items():
            field = known.get(name)
            if field is None:  # not setdefault: a _Field (8 arrays) made per call cost 20 us
                field = known[name] = _Field()
            field.add(labels, values)

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
