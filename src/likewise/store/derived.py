"""The reads a store may derive from its other reads (a mixin every backend takes)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

from likewise.errors import NotFound
from likewise.items.model import Item
from likewise.store.base import TEXT, Fetched, Hit, Nearest, Vector

__all__ = ["DerivedReads"]


class DerivedReads:
    """`iter_items` and `vector` from `all_ids`, `get` and `vectors`; `nearest` from `search`
    and `fetch` (a backend that can do it in one read overrides it)."""

    def all_ids(self) -> list[str]:
        raise NotImplementedError

    def get(self, ids: Sequence[str]) -> list[Item]:
        raise NotImplementedError

    def vectors(self, ids: Sequence[str], *, space: str = TEXT) -> dict[str, Vector]:
        raise NotImplementedError

    def search(
        self,
        vector: Vector,
        *,
        n: int,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        space: str = TEXT,
    ) -> list[Hit]:
        raise NotImplementedError

    def fetch(
        self, ids: Sequence[str], *, space: str = TEXT, details: Collection[str] | None = None
    ) -> dict[str, Fetched]:
        raise NotImplementedError

    def iter_items(self, batch: int = 1000) -> Iterator[list[Item]]:
        ids = self.all_ids()
        for start in range(0, len(ids), batch):
            yield self.get(ids[start : start + batch])

    def vector(self, id: str, *, space: str = TEXT) -> Vector:
        found = self.vectors([id], space=space)
        if id not in found:
            raise NotFound("item" if space == TEXT else f"vector in space {space!r} of item", id)
        return found[id]

    def nearest(
        self,
        vector: Vector,
        *,
        n: int,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        also: Sequence[str] = (),
        space: str = TEXT,
    ) -> Nearest:
        hits = self.search(vector, n=n, where=where, exclude=exclude, space=space)
        ids = list(dict.fromkeys([*(h.id for h in hits), *also]))
        return Nearest(hits, self.fetch(ids, space=space, details=()))
