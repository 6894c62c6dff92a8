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
    """The vectors and titles, and where asked for the filterable fields, of a set of items.

    `Lookup.fetch` reads them with one `Store.fetch`: `where` checks, boosts, freshness, caps,
    rotation, diversity and reasons then read from here instead of asking the store again. A
    list whose steps read no field asks for none: on the embedded store vectors and titles come
    from memory, fields from records.
    """

    def __init__(self, found: Mapping[str, Fetched]) -> None:
        self.found = found
        self._vectors = {i: f.vector for i, f in found.items() if f.vector is not None}

    @classmethod
    def fetch(
        cls, store: Store, ids: Iterable[str], details: Iterable[str] | None = None
    ) -> Lookup:
        """One `Store.fetch` of `ids` (repeats read once; ids it does not hold are left out):
        the vectors and titles of all, the fields of `details` (None: of all)."""
        wanted = None if details is None else set(details)
        return cls(store.fetch(list(dict.fromkeys(ids)), details=wanted))

    def vector(self, item_id: str) -> Vector | None:
        return self._vectors.get(item_id)

    def vectors(self, ids: Iterable[str]) -> dict[str, Vector]:
        """The vectors among `ids`, as `Store.vectors` gives them (missing ones left out)."""
        return {i: v for i in ids if (v := self._vectors.get(i)) is not None}

    def titles(self, ids: Sequence[str]) -> dict[str, str]:
        """The titles of the fetched items among `ids`."""
        return {i: f.title for i in ids if (f := self.found.get(i)) is not None}

    def field(self, item_id: str, name: str) -> Any:
        """A metadata field (or `tags`) of a fetched item, None when it has none."""
        found = self.found.get(item_id)
        return None if found is None else _fields(found).get(name)

    def matching(self, ids: Sequence[str], where: Mapping[str, Any] | None) -> list[str]:
        """The live items among `ids` that pass `where`, in the order given: what
        `Store.matching` answers (live: stored, with a vector)."""
        node = parse_where(where)
        out = []
        for item_id in ids:
            found = self.found.get(item_id)
            if found is None or found.vector is None:
                continue
            if node is None or matches(node, _fields(found)):
                out.append(item_id)
        return out


def _fields(found: Fetched) -> dict[str, Any]:
    if found.fields is None:
        raise RuntimeError(f"the fields of {found.id!r} were not read: fetch it with details")
    return found.fields
