"""The items half of :class:`likewise.Client`, as :class:`likewise.engine.catalog.Catalog`
is the Engine's: the catalog, related items, search, and the lists for no one in particular.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from likewise.client.wire import blend_weights, hits, query, segment, unsupported
from likewise.engine.checks import IngestReport
from likewise.engine.pages import ItemPage
from likewise.errors import NotFound
from likewise.items.model import Item, parse_item
from likewise.store.base import Hit, Space

if TYPE_CHECKING:
    from likewise.client.http import Transport

__all__ = ["CatalogCalls"]

# `similar(space=...)`: the route takes the neighbours' source, which names these spaces.


def _record(item: Item | Mapping[str, Any]) -> Any:
    """An item as the batch route takes it: its own vectors (which `to_record` leaves out,
    as a store does) as lists, numpy arrays included, and its image's bytes as base64."""
    if isinstance(item, Item):
        record = item.to_record()
        if item.vectors:
            record["vectors"] = {k: list(v) for k, v in item.vectors.items()}
        if item.image_data is not None:  # bytes travel as base64
            record["image_data"] = base64.b64encode(item.image_data).decode("ascii")
        return record
    data = item.get("image_data") if isinstance(item, Mapping) else None
    if isinstance(data, bytes | bytearray):
        item = {**item, "image_data": base64.b64encode(data).decode("ascii")}
    vectors = item.get("vectors") if isinstance(item, Mapping) else None
    if isinstance(vectors, Mapping):
        lists = {k: v.tolist() if hasattr(v, "tolist") else v for k, v in vectors.items()}
        return {**item, "vectors": lists}
    return item


class CatalogCalls:
    """Items in, related items and search out, over HTTP. Mixed into the Client, which
    owns `transport`."""

    transport: Transport

    def add_items(
        self,
        records: Iterable[Item | Mapping[str, Any]],
        *,
        delete_missing: bool = False,
        progress: Callable[[int], object] | None = None,
    ) -> IngestReport:
        """As :meth:`Engine.add_items`, in one request (`POST /v1/items:batch`): every record
        is validated by the server before any is written. `progress` is called once, with
        the count, when the server answers. `delete_missing` has no HTTP equivalent and is
        refused. Repeated on a lost connection (an upsert by id: a resend reports its items
        `unchanged`)."""
        if delete_missing:
            raise unsupported("delete_missing", "the HTTP API does not sync a whole catalog")
        batch = [_record(r) for r in records]
        body = self.transport.call("POST", "/v1/items:batch", body=batch, idempotent=True)
        if progress is not None:
            progress(len(batch))
        return IngestReport(**{k: int(body[k]) for k in IngestReport().as_dict()})

    def get(self, item_id: str) -> Item:
        """One stored item, or NotFound (`GET /v1/items/{id}`)."""
        path = f"/v1/items/{segment(item_id, 'item_id')}"
        return parse_item(self.transport.call("GET", path, idempotent=True))

    def get_many(self, ids: Sequence[str]) -> list[Item]:
        """The stored items among `ids`, in order. The HTTP API reads one item per request:
        this makes one GET per id on the pooled connection."""
        found = []
        for item_id in ids:
            try:
                found.append(self.get(item_id))
            except NotFound:
                continue
        return found

    def delete(self, ids: Sequence[str]) -> int:
        """Delete items by id; returns how many existed. One `DELETE /v1/items/{id}` per id
        (the HTTP API deletes one item per request)."""
        removed = 0
        for item_id in ids:
            path = f"/v1/items/{segment(item_id, 'item_id')}"
            try:
                self.transport.call("DELETE", path, idempotent=True)
            except NotFound:
                continue
            removed += 1
        return removed

    def similar(
        self,
        item_id: str,
        *,
        n: int = 10,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        space: str | None = None,
        source: str | None = None,
        min_score: float | None = None,
        spaces: Mapping[str, float] | None = None,
    ) -> list[Hit]:
        """As :meth:`Engine.similar` (`GET /v1/items/{id}/similar`)."""
        params = query(
            where=where,
            exclude=exclude,
            n=n,
            source=source,
            space=space,
            min_score=min_score,
            spaces=blend_weights(spaces),
        )
        path = f"/v1/items/{segment(item_id, 'item_id')}/similar"
        return hits(self.transport.call("GET", path, params=params, idempotent=True))

    def search(
        self,
        text: str,
        *,
        n: int = 10,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        min_score: float | None = None,
        space: str = "text",
    ) -> list[Hit]:
        """As :meth:`Engine.search` (`POST /v1/search`)."""
        body = _search_body({"text": text}, n, where, exclude, space, min_score)
        return hits(self.transport.call("POST", "/v1/search", body=body, idempotent=True))

    def search_vector(
        self,
        vector: Sequence[float] | Any,
        *,
        n: int = 10,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        space: str = "text",
        min_score: float | None = None,
    ) -> list[Hit]:
        """As :meth:`Engine.search_vector` (`POST /v1/search` with a `vector`); a numpy
        array is sent as a list."""
        numbers = vector.tolist() if hasattr(vector, "tolist") else list(vector)
        body = _search_body({"vector": numbers}, n, where, exclude, space, min_score)
        return hits(self.transport.call("POST", "/v1/search", body=body, idempotent=True))

    def spaces(self) -> dict[str, Space]:
        """As :meth:`Engine.spaces` (`GET /v1/spaces`)."""
        body = self.transport.call("GET", "/v1/spaces", idempotent=True)
        return {s["name"]: Space(s["name"], int(s["dim"]), s["metric"]) for s in body["spaces"]}

    def add_space(self, name: str, dim: int, *, metric: str = "cosine") -> Space:
        """As :meth:`Engine.add_space` (`PUT /v1/spaces/{name}`): a no-op if it exists
        alike, ConfigError if it exists otherwise."""
        path = f"/v1/spaces/{segment(name, 'space')}"
        body = {"dim": dim, "metric": metric}
        found = self.transport.call("PUT", path, body=body, idempotent=True)
        return Space(found["name"], int(found["dim"]), found["metric"])

    def list_items(
        self,
        *,
        cursor: str | None = None,
        limit: int = 100,
        where: Mapping[str, Any] | None = None,
    ) -> ItemPage:
        """As :meth:`Engine.list_items` (`GET /v1/items`)."""
        params = query(where=where, limit=limit, cursor=cursor)
        body = self.transport.call("GET", "/v1/items", params=params, idempotent=True)
        return ItemPage([parse_item(r) for r in body["items"]], body["next_cursor"])

    def popular(
        self,
        *,
        n: int = 10,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        trending: bool = False,
    ) -> list[Hit]:
        """As :meth:`Engine.popular` (`GET /v1/popular`)."""
        params = query(where=where, exclude=exclude, n=n, trending=trending or None)
        return hits(self.transport.call("GET", "/v1/popular", params=params, idempotent=True))

    def latest(
        self,
        *,
        n: int = 10,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
    ) -> list[Hit]:
        """As :meth:`Engine.latest` (`GET /v1/latest`)."""
        params = query(where=where, exclude=exclude, n=n)
        return hits(self.transport.call("GET", "/v1/latest", params=params, idempotent=True))

    def count(self, where: Mapping[str, Any] | None = None) -> int:
        """How many items are stored (`items` of `GET /v1/stats`). The HTTP API counts the
        whole catalog only: a `where` is refused."""
        if where is not None:
            raise unsupported("where", "the HTTP API counts the whole catalog only")
        body = self.transport.call("GET", "/v1/stats", idempotent=True)
        return int(body["items"])


def _search_body(
    query: dict[str, Any],
    n: int,
    where: Mapping[str, Any] | None,
    exclude: Sequence[str],
    space: str,
    min_score: float | None,
) -> dict[str, Any]:
    """`POST /v1/search`'s body: the query (`text` or `vector`) and the options given."""
    body = {**query, "n": n, "exclude": list(exclude)}
    if space != "text":
        body["space"] = space
    if where is not None:
        body["where"] = where
    if min_score is not None:
        body["min_score"] = min_score
    return body
