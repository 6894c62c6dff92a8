"""One read of everything ranking needs of its candidates and the user's liked items."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from likewise.filters import matches, parse_where
from likewise.profiles.strategies import Vector
from likewise.store import Store
from likewise.store.base import Fetched

__all__ = ["Lookup"]


class Lookup:
    """The vectors, filterable fields and titles of a set of items, read with one
    `Store.fetch`: `where` checks, freshness, caps, rotation, diversity and reasons all
    read from here instead of asking the store again."""

    def __init__(self, found: Mapping[str, Fetched]) -> None:
        self.found = found

    @classmethod
    def read(cls, store: Store, ids: Iterable[str]) -> Lookup:
        """Fetch `ids` (repeats read once); ids the store does not hold are left out."""
        return cls(store.fetch(list(dict.fromkeys(ids))))

    def vector(self, item_id: str) -> Vector | None:
        found = self.found.get(item_id)
        return None if found is None else found.vector

    def vectors(self, ids: Sequence[str]) -> dict[str, Vector]:
        """The vectors among `ids`, as `Store.vectors` gives them (missing ones left out)."""
        out: dict[str, Vector] = {}
        for item_id in ids:
            vector = self.vector(item_id)
            if vector is not None:
                out[item_id] = vector
        return out

    def field(self, item_id: str, name: str) -> Any:
        """A metadata field (or `tags`) of an item, None when it has none."""
        found = self.found.get(item_id)
        return None if found is None else found.fields.get(name)

    def title(self, item_id: str) -> str:
        found = self.found.get(item_id)
        return "" if found is None else found.title

    def matching(self, ids: Sequence[str], where: Mapping[str, Any] | None) -> list[str]:
        """The live items among `ids` that pass `where`, in the order given: what
        `Store.matching` answers (live: stored, with a vector)."""
        node = parse_where(where)
        out = []
        for item_id in ids:
            found = self.found.get(item_id)
            if found is not None and found.vector is not None and matches(node, found.fields):
                out.append(item_id)
        return out
