"""One Milvus collection per vector space: the item id (VARCHAR primary key), its vector, and
its filterable fields as the JSON field `f` (see `expr.py`).

pymilvus is imported when a store is opened (it needs the `likewise[milvus]` extra). Every
call names a Milvus expression built here or in `expr.py`, never pymilvus's own quoting of
ids, which breaks on an id with a quote in it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from likewise.errors import ConfigError, StoreError
from likewise.store.base import Space, Vector
from likewise.store.milvus.expr import id_list

__all__ = ["MAX_TOPK", "MilvusConfig", "MilvusSpaces"]

MAX_TOPK = 16_384  # Milvus answers at most this many hits per query
_METRIC = {"cosine": "COSINE", "dot": "IP", "euclidean": "L2"}
_BATCH = 1_000  # ids per get or delete, entities per insert


@dataclass(frozen=True)
class MilvusConfig:
    """How each space's collection is indexed and read. `index` "HNSW" is approximate (`m`,
    `ef_construction` when built, a beam of `ef` or `n`, the larger, per query); "FLAT" ranks
    every vector, exactly. `consistency` "Strong" (the default) lets every write, from any
    server, be read at once; it waits for Milvus's time tick on each read (about 350 ms a
    search on Milvus 2.3.5 standalone, against 1.5 ms otherwise: bench/search.py measures
    both). "Bounded" may miss the last seconds of writes, for the fast read. ("Session"
    is not offered: on 2.3.5 it kept returning an item this process had just deleted.)
    `timeout` bounds each call, in seconds."""

    index: Literal["HNSW", "FLAT"] = "HNSW"
    m: int = 16
    ef_construction: int = 200
    ef: int = 200
    consistency: Literal["Strong", "Bounded"] = "Strong"
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

    def drop_all(self, spaces: Mapping[str, Space]) -> None:
        """Drop every collection of `spaces` (tests and benchmarks clean up with it)."""
        for name in spaces:
            if self._client.has_collection(self.name(name)):
                self._client.drop_collection(self.name(name))
        self._ready.clear()

    def close(self) -> None:
        self._client.close()
