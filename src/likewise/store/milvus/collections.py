"""One Milvus collection per vector space: the item id (VARCHAR primary key), its vector, and
its filterable fields as the JSON field `f` (see `expr.py`).

pymilvus is imported when a store is opened (it needs the `likewise[milvus]` extra). Every
call names a Milvus expression built here or in `expr.py`, never pymilvus's own quoting of
ids, which breaks on an id with a quote in it.

Consistency. A Milvus read waits until the query node has consumed the write stream up to
the read's guarantee timestamp, and that stream advances by time ticks, sent every
`proxy.timeTickInterval` ms (200 by default). "Strong" takes the newest timestamp, so each
read waits for the next tick or two; the others do not wait. Measured on Milvus 2.3.5
standalone through pymilvus (2 cores shared, load 6-8; 40 searches, 100 at 20 and 10 ms, of
2,000 32-d vectors, HNSW ef 64; "seen": a search right after an upsert found it, "gone": one
right after a delete did not, out of 10):

    tick    idle CPU  Strong p50/p95   Bounded  Session  Eventually  seen/gone: Strong Session
    200 ms    2.7 %   399 / 425 ms     1.9 ms   1.6 ms   1.6 ms      10/10  10/0
     50 ms    5.1 %    50 /  64 ms     2.0 ms   2.4 ms   2.0 ms      10/10  10/0
     20 ms   13.4 %    26 /  45 ms     2.0 ms   2.3 ms   2.4 ms      10/10  10/0
     10 ms   21.1 %    20 /  27 ms     2.0 ms   1.8 ms   2.7 ms      10/10  10/0
      5 ms   28.5 %    10 / 123 ms     3.6 ms   2.9 ms   3.1 ms      10/10  10/0

(Bounded and Eventually saw none of the fresh writes: 0/10 or 1/10.) So "strong", the default,
is the only level at which every server reads every server's last write, which the shared
result cache relies on: run Milvus with `proxy.timeTickInterval: 20` (about 26 ms a read for
13 % of a core while idle). "session" reads this process's own writes at once and other
servers' a few ticks late, in 2 ms; Milvus 2.3.5 returns no timestamp for a delete, so a delete
here is followed by one strong read of the deleted ids, after which the query node has applied
it. "bounded" (up to `common.gracefulTime`, 5 s, late) and "eventually" suit a read-only
replica of a catalog that changes in batches.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from likewise.errors import ConfigError, StoreError
from likewise.store.base import Space, Vector
from likewise.store.milvus.expr import TRUE, id_list

__all__ = ["CONSISTENCY", "MAX_TOPK", "Consistency", "MilvusConfig", "MilvusSpaces"]

Consistency = Literal["Strong", "Bounded", "Session", "Eventually"]
CONSISTENCY: dict[str, Consistency] = {
    "strong": "Strong",
    "bounded": "Bounded",
    "session": "Session",
    "eventually": "Eventually",
}  # the URL's `consistency=` values, as Milvus names them

MAX_TOPK = 16_384  # Milvus answers at most this many hits per query
_METRIC = {"cosine": "COSINE", "dot": "IP", "euclidean": "L2"}
_BATCH = 1_000  # ids per get or delete, entities per insert


@dataclass(frozen=True)
class MilvusConfig:
    """How each space's collection is indexed and read. `index` "HNSW" is approximate (`m`,
    `ef_construction` when built, a beam of `ef` or `n`, the larger, per query); "FLAT" ranks
    every vector, exactly. `consistency` is what a read waits for (see the module's table):
    "Strong", the default, every server's last write. `timeout` bounds each call, in
    seconds."""

    index: Literal["HNSW", "FLAT"] = "HNSW"
    m: int = 16
    ef_construction: int = 200
    ef: int = 200
    consistency: Consistency = "Strong"
    timeout: float = 30.0


def _client(uri: str, timeout: float) -> Any:
    try:
        with warnings.catch_warnings():  # pymilvus 2.4 imports setuptools' pkg_resources
            warnings.simplefilter("ignore")
            from pymilvus import MilvusClient  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ConfigError(
            f"Milvus vectors need pymilvus ({exc.name} is missing): pip install 'likewise[milvus]'"
        ) from None
    return MilvusClient(uri=uri, timeout=timeout)


class MilvusSpaces:
    """The collections of one store's spaces, named `{prefix}_{space}`."""

    def __init__(self, uri: str, prefix: str, config: MilvusConfig) -> None:
        self.uri = uri
        self.prefix = prefix
        self.config = config
        self._client = _client(uri, config.timeout)
        self._ready: dict[str, Space] = {}  # spaces whose collection is known to match

    def name(self, space: str) -> str:
        return f"{self.prefix}_{space}"

    def ensure(self, space: Space, *, replace: bool = False) -> None:
        """The space's collection, created and loaded, its index as configured. One of
        another dimension or metric holds vectors no longer valid: with `replace` (a new
        store or space, a new model) it is dropped and made again, else StoreError (this
        process's view of the spaces is stale)."""
        if self._ready.get(space.name) == space:
            return
        name = self.name(space.name)
        if self._client.has_collection(name):
            dim, metric, kind = self._shape(name)
            if (dim, metric) == (space.dim, _METRIC[space.metric]):
                if kind != self.config.index:  # the vectors stay; the index is rebuilt
                    self._client.release_collection(name)
                    self._client.drop_index(name, "vector")
                    self._client.create_index(name, self._index(space))
                self._client.load_collection(name)
                self._ready[space.name] = space
                return
            if not replace:
                raise StoreError(
                    f"Milvus collection {name} holds {dim}-d {metric} vectors, not {space}: "
                    "the store's model changed; open the store again"
                )
            self._client.drop_collection(name)
        self._create(name, space)
        self._ready[space.name] = space

    def _shape(self, name: str) -> tuple[int, str, str]:
        found = self._client.describe_collection(name)
        field = next(f for f in found["fields"] if f["name"] == "vector")
        index = self._client.describe_index(name, "vector")
        return (
            int(field["params"]["dim"]),
            str(index.get("metric_type")),
            str(index.get("index_type")),
        )

    def _index(self, space: Space) -> Any:
        index = self._client.prepare_index_params()
        params = (
            {"M": self.config.m, "efConstruction": self.config.ef_construction}
            if self.config.index == "HNSW"
            else {}
        )
        index.add_index(
            field_name="vector",
            index_type=self.config.index,
            metric_type=_METRIC[space.metric],
            params=params,
        )
        return index

    def _create(self, name: str, space: Space) -> None:
        from pymilvus import DataType

        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=65_535)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=space.dim)
        schema.add_field("f", DataType.JSON)
        self._client.create_collection(
            name,
            schema=schema,
            index_params=self._index(space),
            consistency_level=self.config.consistency,
        )

    def upsert(self, space: Space, rows: Sequence[tuple[str, Vector, dict[str, Any]]]) -> None:
        """Write entities (id, vector, fields document), replacing any of the same id."""
        self.ensure(space)
        data = [{"id": i, "vector": v.tolist(), "f": doc} for i, v, doc in rows]
        for start in range(0, len(data), _BATCH):
            self._client.upsert(self.name(space.name), data[start : start + _BATCH])

    def delete(self, space: Space, ids: Sequence[str]) -> None:
        self.ensure(space)
        for start in range(0, len(ids), _BATCH):
            chunk = ids[start : start + _BATCH]
            self._client.delete(self.name(space.name), filter=f"id in {id_list(chunk)}")
            if self.config.consistency == "Session":  # the delete has no timestamp to wait on
                self._client.query(
                    self.name(space.name),
                    filter=f"id in {id_list(chunk)}",
                    output_fields=["count(*)"],
                    consistency_level="Strong",
                )

    def vectors(self, space: Space, ids: Sequence[str]) -> dict[str, Vector]:
        """The stored vectors among `ids`."""
        self.ensure(space)
        out: dict[str, Vector] = {}
        for start in range(0, len(ids), _BATCH):
            rows = self._client.query(
                self.name(space.name),
                filter=f"id in {id_list(ids[start : start + _BATCH])}",
                output_fields=["vector"],
                consistency_level=self.config.consistency,
            )
            out.update({r["id"]: np.asarray(r["vector"], dtype=np.float32) for r in rows})
        return out

    def search(self, space: Space, query: Vector, n: int, expr: str) -> list[tuple[str, float]]:
        """The `n` nearest entities passing `expr` (at most `MAX_TOPK`), with the stores'
        scores: higher is closer (cosine, dot; minus the L2 distance, where Milvus gives its
        square)."""
        self.ensure(space)
        limit = min(n, MAX_TOPK)
        params: dict[str, Any] = {}
        if self.config.index == "HNSW":
            params = {"ef": max(self.config.ef, limit)}
        (hits,) = self._client.search(
            self.name(space.name),
            [query.tolist()],
            filter=expr,
            limit=limit,
            search_params={"metric_type": _METRIC[space.metric], "params": params},
            consistency_level=self.config.consistency,
        )
        if space.metric == "euclidean":
            return [(h["id"], -math.sqrt(max(float(h["distance"]), 0.0))) for h in hits]
        return [(h["id"], float(h["distance"])) for h in hits]

    def count(self, space: Space) -> int:
        self.ensure(space)
        rows = self._client.query(
            self.name(space.name),
            filter="",
            output_fields=["count(*)"],
            consistency_level=self.config.consistency,
        )
        return int(rows[0]["count(*)"]) if rows else 0

    def empty_all(self) -> None:
        """Delete every entity of this prefix's collections: a new store's, which a former
        store naming the same prefix may have filled (its ids would be found by search)."""
        for name in self._client.list_collections():
            if name.startswith(f"{self.prefix}_"):
                self._client.load_collection(name)  # a delete by expression reads first
                self._client.delete(name, filter=TRUE)

    def close(self) -> None:
        self._client.close()
