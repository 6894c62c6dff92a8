"""The embedded store's reads of what ranking needs of items: `fetch`, and `nearest` (a
search and a fetch of its hits in one read, for a profile list)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from likewise.errors import StoreError
from likewise.filters import parse_where
from likewise.store.base import TEXT, Fetched, Hit, Nearest, StoreInfo, Vector
from likewise.store.checks import check_query
from likewise.store.embedded.details import Details
from likewise.store.embedded.locks import RWLock
from likewise.store.embedded.space import SpaceIndex

__all__ = ["Fetching"]


class Fetching:
    """`fetch` and `nearest` over the in-memory indexes, with fields parsed from the records
    (a mixin of `EmbeddedStore`, which provides the attributes below)."""

    _rw: RWLock
    _spaces: dict[str, SpaceIndex]
    _details: Details

    def _space(self, name: str) -> SpaceIndex:
        raise NotImplementedError

    def _require_info(self) -> StoreInfo:
        raise StoreError("no store")

    def _by_id(self, ids: Sequence[str], columns: str) -> list[Any]:
        raise NotImplementedError

    def fetch(
        self, ids: Sequence[str], *, space: str = TEXT, details: Collection[str] | None = None
    ) -> dict[str, Fetched]:
        index, text = self._space(space), self._spaces[TEXT]
        with self._rw.read():
            labels = text.labels(ids)
        wanted = labels if details is None else {i: labels[i] for i in details if i in labels}
        fields = self._details.of(wanted, lambda rest: self._by_id(rest, "label, record"))
        with self._rw.read():
            vectors = index.rows(labels if index is text else index.labels(list(labels)))
            titles = text.titles
            return {  # an item whose fields were asked for and not read was just deleted
                i: Fetched(i, vectors.get(i), fields.get(i), titles[label])
                for i, label in labels.items()
                if i in fields or i not in wanted
            }

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
        # What `search` then `fetch(details=())` give, under one look at the other processes'
        # writes and one hold of the indexes: the hits cannot be deleted in between.
        node = parse_where(where)
        self._require_info()
        index, text = self._space(space), self._spaces[TEXT]
        vector = check_query(index.space, vector, n)
        with self._rw.read():
            mask = None if node is None else index.mask(node)
            if index is not text:
                hits = [Hit(i, s) for i, s in index.search(vector, n, mask, exclude)]
                labels = text.labels(list(dict.fromkeys([*(h.id for h in hits), *also])))
                vectors = index.rows(index.labels(list(labels)))
            else:  # each id looked up once: the liked items are among the seen ones excluded
                known = text.labels(list(dict.fromkeys([*exclude, *also])))
                excluded = [known[i] for i in dict.fromkeys(exclude) if i in known]
                ids, labels = text.ids, {}
                hits = []
                for label, score in text.search_labels(vector, n, mask, excluded):
                    hits.append(Hit(ids[label], score))
                    labels[ids[label]] = label  # a hit is live: its id's label is this one
                for i in also:
                    if i not in labels and i in known:
                        labels[i] = known[i]
                vectors = index.rows(labels)
            titles = text.titles
            found = {i: Fetched(i, vectors.get(i), None, titles[at]) for i, at in labels.items()}
        return Nearest(hits, found)
