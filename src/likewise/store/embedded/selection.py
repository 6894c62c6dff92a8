"""What a filtered search derives from a filter, kept while the index does not change.

At 1M labels, making a filter's selection for each query costs more than a good part of the
search: the live labels among the filter's (`mask & alive`), their count and the bitmap faiss
reads take ~0.5 ms, and a rare filter's rows, scanned exactly, are scattered over the whole
index. Filters repeat (a category page, a tenant's site, "in stock"), so the space hands out one
read-only mask per filter (`SpaceIndex.mask`) and the index keeps what it derived from that mask
here, until its next write. A mask made for one query (an exclusion list's) is not kept.

A small selection's rows are also copied together into a flat faiss index, so its exact scan
reads contiguous memory; all such copies together stay under `SUBSET_BYTES`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from likewise.store.embedded import storage as kept

__all__ = ["SUBSET_BYTES", "Selection", "Selections"]

Mask = npt.NDArray[np.bool_]
KEPT = 32  # selections kept at once (all dropped when full: filters in use come back)
SUBSET_BYTES = 64 << 20  # the flat copies of small selections' rows, all together


@dataclass
class Selection:
    """The live labels a filter leaves: as a mask, a count, and, made when first needed, the
    bitmap faiss's filtered walk reads, the labels, and a flat copy of their rows."""

    keep: Mask
    count: int
    bits: npt.NDArray[np.uint8] | None = None
    labels: npt.NDArray[np.int64] | None = None
    subset: Any = field(default=None, repr=False)  # a flat faiss index over `labels`' rows

    def bitmap(self) -> npt.NDArray[np.uint8]:
        if self.bits is None:
            self.bits = np.packbits(self.keep, bitorder="little")
        return self.bits

    def members(self) -> npt.NDArray[np.int64]:
        if self.labels is None:
            self.labels = np.flatnonzero(self.keep)
        return self.labels


class Selections:
    """The selections of the masks a space handed out, by mask (see the module's docstring).

    Searches share it under the store's read lock, so several threads may add selections or
    copies at once: `_lock` serialises that (a hit is one dict read and takes no lock)."""

    def __init__(self) -> None:
        self._by_mask: dict[int, tuple[Mask, Selection]] = {}
        self._subset_bytes = 0
        self._lock = threading.Lock()

    def of(self, mask: Mask, alive: Mask) -> Selection:
        """The selection of `mask` among the `alive` labels: kept when `mask` is read-only."""
        if mask.flags.writeable:  # made for this query alone
            keep = mask & alive
            return Selection(keep, int(np.count_nonzero(keep)))
        hit = self._by_mask.get(id(mask))
        if hit is not None and hit[0] is mask:
            return hit[1]
        keep = mask & alive
        found = Selection(keep, int(np.count_nonzero(keep)))
        with self._lock:
            if len(self._by_mask) >= KEPT:
                self.clear()
            self._by_mask[id(mask)] = (mask, found)
        return found

    def subset(self, index: Any, selection: Selection) -> Any:
        """The flat copy of a kept selection's rows, made if it fits the budget, else None."""
        with self._lock:  # another search may be adding a selection (a dict changing size)
            if selection.subset is None and any(s is selection for _, s in self._by_mask.values()):
                size = selection.count * kept.row_bytes(index)
                if self._subset_bytes + size <= SUBSET_BYTES:
                    selection.subset = kept.flat_copy(index, selection.members())
                    self._subset_bytes += size
            return selection.subset

    def clear(self) -> None:
        """Forget every selection (the index changed, or too many are kept)."""
        self._by_mask = {}
        self._subset_bytes = 0
