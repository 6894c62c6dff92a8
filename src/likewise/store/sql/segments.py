"""User properties and segments, written once for both SQL stores.

A user's properties are one flat JSON object per user (`user_properties`); a segment is a
name and a `where` filter over them (`segments`). The store keeps them and answers the reads
the engine evaluates segments from; which users are in a segment is decided at read time,
over the properties as they are then (nothing per segment is materialised, so a property
change moves a user between segments at once, in every process).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from likewise.store.segments import SegmentRow
from likewise.store.sql.query import Sql, marks

__all__ = ["PROPERTY_TABLES", "SqlSegments"]

# The tables `likewise copy` carries for this module (see `transfer.TABLES`).
PROPERTY_TABLES: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    "user_properties": (("user_id", "properties", "updated_at"), "user_id", ()),
    "segments": (("name", "filter", "created_at"), "name", ()),
}


class SqlSegments:
    """Properties and segments over a backend's `_reading()` and `_writing()` (a mixin of
    `SqlActivity`)."""

    def _reading(self) -> AbstractContextManager[Sql]:
        raise NotImplementedError

    def _writing(self, *, exclusive: bool = True) -> AbstractContextManager[Sql]:
        raise NotImplementedError

    def put_user_properties(
        self, rows: Sequence[tuple[str, Mapping[str, Any]]], *, replace: bool
    ) -> None:
        # Exclusive: a merge reads then writes, and two servers merging into one user must
        # not lose either's keys (PostgreSQL takes the store's write lock for it).
        now = time.time()
        with self._writing() as db:
            merged: dict[str, dict[str, Any]] = {}
            if not replace:
                ids = list(dict.fromkeys(u for u, _ in rows))
                found = db.rows_in(
                    "SELECT user_id, properties FROM user_properties WHERE user_id", ids
                )
                merged = {u: json.loads(p) for u, p in found}
            for user_id, props in rows:
                base = {} if replace else merged.get(user_id, {})
                base.update(props)
                merged[user_id] = {k: v for k, v in base.items() if v is not None}
            db.executemany(
                "INSERT INTO user_properties(user_id, properties, updated_at) "
                "VALUES ({p}, {p}, {p}) ON CONFLICT(user_id) DO UPDATE SET "
                "properties = excluded.properties, updated_at = excluded.updated_at",
                [(u, json.dumps(p, sort_keys=True), now) for u, p in merged.items()],
            )

    def user_properties(self, user_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        with self._reading() as db:
            found = db.rows_in(
                "SELECT user_id, properties FROM user_properties WHERE user_id", list(user_ids)
            )
        return {u: json.loads(p) for u, p in found}

    def properties_page(self, *, after: str = "", limit: int) -> list[tuple[str, dict[str, Any]]]:
        with self._reading() as db:
            rows = db.execute(
                "SELECT user_id, properties FROM user_properties WHERE user_id > {p} "
                "ORDER BY user_id LIMIT {p}",
                (after, limit),
            ).fetchall()
        return [(u, json.loads(p)) for u, p in rows]

    def put_segment(self, name: str, where: Mapping[str, Any]) -> bool:
        # Exclusive, as every write that changes lists: the other servers are told and drop
        # what they cached of anyone's segments.
        with self._writing() as db:
            old = db.execute("SELECT 1 FROM segments WHERE name = {p}", (name,)).fetchone()
            db.execute(
                "INSERT INTO segments(name, filter, created_at) VALUES ({p}, {p}, {p}) "
                "ON CONFLICT(name) DO UPDATE SET filter = excluded.filter",
                (name, json.dumps(where, sort_keys=True), time.time()),
            )
        return old is None

    def segments(self) -> dict[str, dict[str, Any]]:
        with self._reading() as db:
            return _segments(db)

    def delete_segment(self, name: str) -> bool:
        with self._writing() as db:
            gone: int = db.execute("DELETE FROM segments WHERE name = {p}", (name,)).rowcount
        return gone > 0

    def segment_inputs(self, user_id: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        with self._reading() as db:  # one read: the user's properties and every segment
            row = db.execute(
                "SELECT properties FROM user_properties WHERE user_id = {p}", (user_id,)
            ).fetchone()
            return ({} if row is None else json.loads(row[0])), _segments(db)

    def segment_rate_rows(
        self, since: float, clicks: Sequence[str], conversions: Sequence[str]
    ) -> list[SegmentRow]:
        with self._reading() as db:
            return _rate_rows(db, since, clicks, conversions)


def _segments(db: Sql) -> dict[str, dict[str, Any]]:
    rows = db.execute("SELECT name, filter FROM segments ORDER BY name").fetchall()
    return {name: json.loads(text) for name, text in rows}


def _rate_rows(
    db: Sql, since: float, clicks: Sequence[str], conversions: Sequence[str]
) -> list[SegmentRow]:
    """Per (user, strategy), the counts `reports.rate_rows` makes per group, with dwell as a
    sum and a count so the engine can merge users into segments exactly."""
    attributed = "SELECT 1 FROM events e WHERE e.recommendation_id = i.id AND e.type IN"
    rows = db.execute(
        "SELECT user_id, strategy, COUNT(*), SUM(clicked), SUM(converted), "
        "SUM(dwell), COUNT(dwell) FROM ("
        f"SELECT i.user_id AS user_id, i.strategy AS strategy, "
        f"CASE WHEN EXISTS({attributed} ({marks(len(clicks))})) THEN 1 ELSE 0 END AS clicked, "
        f"CASE WHEN EXISTS({attributed} ({marks(len(conversions))})) THEN 1 ELSE 0 END "
        "AS converted, (SELECT AVG(e.value) FROM events e WHERE e.recommendation_id = i.id "
        "AND e.type = 'dwell') AS dwell FROM impressions i WHERE i.at >= {p}) AS rated "
        "GROUP BY user_id, strategy ORDER BY user_id, strategy",
        [*clicks, *conversions, since],
    ).fetchall()
    return [(u, s, int(n), int(c), int(v), float(d or 0.0), int(k)) for u, s, n, c, v, d, k in rows]
