"""The filterable fields `fetch` returns, kept parsed for the hot items: a label is one
version of an item's record, so what was parsed for it stays true until the item changes."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from likewise.filters import filterable

__all__ = ["Details"]

Fields = dict[str, Any]
Read = Callable[[list[str]], list[tuple[str, int, str]]]  # ids -> (id, label, record JSON)


class Details:
    """Filterable fields by text label, at most `size` of them (then started over)."""

    def __init__(self, generation: int = 0, size: int = 65_536) -> None:
        self.generation = generation  # of the text labels: renumbered labels start over
        self.size = size
        self._known: dict[int, tuple[str, Fields]] = {}

    def of(self, labels: Mapping[str, int], read: Read) -> dict[str, Fields]:
        """The fields of the items in `labels` (id -> live label); `read` gives the records
        of those not parsed yet."""
        known = self._known
        found = {i: d[1] for i, label in labels.items() if (d := known.get(label)) and d[0] == i}
        if len(found) < len(labels):
            if len(known) > self.size:
                known.clear()
            for item_id, label, record in read([i for i in labels if i not in found]):
                fields = filterable(json.loads(record))
                known[label] = (item_id, fields)
                found[item_id] = fields
        return found
