"""One read of what ranking needs of its candidates and the user's liked items."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from likewise.filters import matches, parse_where
from likewise.profiles.strategies import Vector
from likewise.store import Store
from likewise.store.base import Fetched

__all__ = ["Lookup"]


class Lookup:
    """The vectors (and, when fetched, the filterable fields and titles) of a set of items.

    `Lookup.fetch` reads vectors, fields and titles with one `Store.fetch`: `where` checks,
    boosts, freshness, caps, rotation, diversity and reasons then read from here instead of
    asking the store again. A list that checks no field (a profile strategy's search already
    applied `where`) reads vectors only with `Lookup.vectors_of`, far cheaper where the store
    holds them in memory, and the titles of the few liked items its reasons name afterwards.
    """

    def __init__(
        self,
        store: Store,
        vectors: Mapping[str, Vector],
        found: Mapping[str, Fetched] | None = None,
    ) -> None:
        self.store = store
        self._vectors = vectors
        self.found = found

    @classmethod
    def fetch(cls, store: Store, ids: Iterable[str]) -> Lookup:
        """One `Store.fetch` of `ids` (repeats read once); ids it does not hold are left out."""
        found = store.fetch(list(dict.fromkeys(ids)))
        vectors = {i: f.vector for i, f in found.items() if f.vector is not None}
        return cls(store, vectors, found)

    @classmethod
    def vectors_of(cls, store: Store, ids: Sequence[str]) -> Lookup:
        """One `Store.vectors` read of `ids`: no fields; titles are read when asked for."""
        return cls(store, store.vectors(ids))

    def vector(self, item_id: str) -> Vector | None:
        return self._vectors.get(item_id)

    def vectors(self, ids: Iterable[str]) -> dict[str, Vector]:
        """The vectors among `ids`, as `Store.vectors` gives them (missing ones left out)."""
        return {i: v for i in ids if (v := self._vectors.get(i)) is not None}

    def titles(self, ids: Sequence[str]) -> dict[str, str]:
        """The titles of `ids`: fetched already, or one `Store.titles` read."""
        if self.found is None:
            return self.store.titles(ids)
        return {i: f.title for i in ids if (f := self.found.get(i)) is not None}

    def field(self, item_id: str, name: str) -> Any:
        """A metadata field (or `tags`) of a fetched item, None when it has none."""
        found = self._fetched().get(item_id)
        return None if found is None else found.fields.get(name)

    def matching(self, ids: Sequence[str], where: Mapping[str, Any] | None) -> list[str]:
        """The live items among `ids` that pass `where`, in the order given: what
        `Store.matching` answers (live: stored, with a vector)."""
        node = parse_where(where)
        fetched = self._fetched()
        out = []
        for item_id in ids:
            found = fetched.get(item_id)
            if found is not None and found.vector is not None and matches(node, found.fields):
                out.append(item_id)
        return out

    def _fetched(self) -> Mapping[str, Fetched]:
        if self.found is None:
            raise RuntimeError("fields were not read: use Lookup.fetch")
        return self.found
