"""Filtered nearest-neighbour search in PostgreSQL, planned like the embedded store's: when a
filter leaves few rows they are ranked exactly; otherwise HNSW runs with `hnsw.iterative_scan`,
so a filter that rejects most neighbours still yields `n` results."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pgvector import Vector as PgVector
from psycopg import Connection

from likewise.filters import Filter
from likewise.store.base import TEXT, Space
from likewise.store.postgres.filter import candidates, compile_where

__all__ = ["DISTANCE", "OPS", "PgConfig", "Planner", "space_source"]

OPS = {"cosine": "vector_cosine_ops", "dot": "vector_ip_ops", "euclidean": "vector_l2_ops"}
DISTANCE = {"cosine": "<=>", "dot": "<#>", "euclidean": "<->"}


@dataclass(frozen=True)
class PgConfig:
    """Pool and HNSW settings. `ef_search` is the beam width of unfiltered and filtered HNSW
    queries; a filter that leaves at most `exact_below` rows is ranked exactly instead (how
    many a filter leaves is counted once per `plan_seconds`). A request waits at most
    `pool_timeout` seconds for a connection before the store is reported unavailable, and at
    most `retry_timeout` while the database is known to be down (see `pool.py`)."""

    pool_min: int = 1
    pool_max: int = 8
    pool_timeout: float = 5.0
    retry_timeout: float = 0.5
    m: int = 16
    ef_construction: int = 64
    ef_search: int = 200
    exact_below: int = 2_000
    max_scan_tuples: int = 40_000
    plan_seconds: float = 60.0


def space_source(space: str) -> tuple[str, str]:
    """The FROM clause that holds a space's vectors beside the item rows, and the column."""
    if space == TEXT:
        return "items", "embedding"
    return f"space_{space} s JOIN items ON id = s.item_id", "s.embedding"


class Planner:
    """Searches, remembering per filter whether it leaves few enough rows to rank exactly."""

    def __init__(self, config: PgConfig) -> None:
        self.config = config
        # (space, condition, params) -> (few?, valid until, catalog version); see `_few`.
        self._plans: dict[tuple[str, str, tuple[str, ...]], tuple[bool, float, int]] = {}
        self.catalog_version = 0

    def search(
        self,
        conn: Connection[Any],
        space: Space,
        query: PgVector,
        n: int,
        node: Filter | None,
        exclude: list[str],
    ) -> list[tuple[str, float]]:
        source, column = space_source(space.name)
        condition, params = compile_where(node)
        skip = " AND id <> ALL(%s)" if exclude else ""
        args = [*params, exclude] if exclude else params
        distance = DISTANCE[space.metric]
        subset, subset_params = _subset(node, condition, params)
        if node is not None and self._few(conn, space.name, source, subset, subset_params):
            # Rank the few matching rows exactly. `+ 0` keeps HNSW out: the index can order
            # by the distance operator, not by an expression over it.
            rows = conn.execute(
                f"SELECT id, ({column} {distance} %b) + 0 AS d FROM {source} "
                f"WHERE {subset}{skip} ORDER BY d, id LIMIT %s",
                [query, *subset_params, *args[len(params) :], n],
            ).fetchall()
        elif n > self.config.ef_search:  # a wider beam for this query only
            with conn.transaction():
                conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(n),))
                rows = _nearest(conn, source, column, distance, condition + skip, [query, *args, n])
        else:
            rows = _nearest(conn, source, column, distance, condition + skip, [query, *args, n])
        return [(i, _score(space.metric, d)) for i, d in rows]

    def _few(
        self, conn: Connection[Any], space: str, source: str, condition: str, params: list[Any]
    ) -> bool:
        """Whether at most `exact_below` items pass `condition` (counting stops past that).

        Filters repeat (a category page asks the same one for every visitor), so the answer
        is kept per filter for `plan_seconds`, and dropped when this process writes items.
        """
        key = (space, condition, tuple(map(repr, params)))
        now = time.monotonic()
        known = self._plans.get(key)
        if known is not None and known[1] > now and known[2] == self.catalog_version:
            return known[0]
        limit = self.config.exact_below
        row = conn.execute(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM {source} WHERE {condition} LIMIT %s) AS c",
            [*params, limit + 1],
        ).fetchone()
        few = row is not None and int(row[0]) <= limit
        if len(self._plans) >= 1024:
            self._plans.clear()
        self._plans[key] = (few, now + self.config.plan_seconds, self.catalog_version)
        return few


def _nearest(
    conn: Connection[Any],
    source: str,
    column: str,
    distance: str,
    condition: str,
    params: list[Any],
) -> list[Any]:
    """HNSW (iterative scan) over the rows passing `condition`."""
    return conn.execute(
        f"SELECT id, {column} {distance} %b AS d FROM {source} WHERE {condition} "
        "ORDER BY d LIMIT %s",
        params,
    ).fetchall()


def _subset(node: Filter | None, condition: str, params: list[Any]) -> tuple[str, list[Any]]:
    """`condition` as an indexed lookup of candidates when the filter allows one (plus the
    condition itself when the candidates are a superset)."""
    found = candidates(node)
    if found is None:
        return condition, params
    lookup = f"seq = ANY(ARRAY({found.sql}))"
    if found.exact:
        return lookup, found.params
    return f"{lookup} AND {condition}", [*found.params, *params]


def _score(metric: str, distance: float) -> float:
    """Higher is closer, as in the embedded store: cosine similarity, dot, minus L2."""
    if metric == "cosine":
        return 1.0 - float(distance)
    return -float(distance)
