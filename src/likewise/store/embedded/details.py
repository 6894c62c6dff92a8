"""What `fetch` returns besides vectors, kept parsed for the hot items: a label is one version
of an item's record, so what was parsed for it stays true until the item changes."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from likewise.filters import filterable

__all__ = ["Details"]

Detail = tuple[str, dict[str, Any], str]  # item id, filterable fields, title
Read = Callable[[list[str]], list[tuple[str, int, str]]]  # ids -> (id, label, record JSON)


class Details:
    """Filterable fields and title by text label, at most `size` of them (then started over)."""

    def __init__(self, size: int = 65_536) -> None:
        self.size = size
        self._known: dict[int, Detail] = {}

    def of(self, labels: Mapping[str, int], read: Read) -> dict[str, Detail]:
        """The details of the items in `labels` (id -> live label); `read` gives the records
        of those not parsed yet."""
        known = self._known
        found = {i: d for i, label in labels.items() if (d := known.get(label)) and d[0] == i}
        if len(found) < len(labels):
            if len(known) > self.size:
                known.clear()
            for item_id, label, record in read([i for i in labels if i not in found]):
                rec = json.loads(record)
                found[item_id] = known[label] = (item_id, filterable(rec), rec.get("title") or "")
        return found
