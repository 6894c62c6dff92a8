"""The PostgreSQL + pgvector store: the same contract as the embedded one, on a shared database.

Several stateless servers can share one database: every read asks the database (there is no
in-process index to catch up), every write is one transaction. Writes that change profiles,
popularity or the catalog also take one advisory lock, so concurrent writers (two servers
recording events for one user) are serialised and lose nothing, as SQLite's single writer is.

Vectors live in a `vector(dim)` column with an HNSW index in the ops class of the store's
metric. A filtered search is planned like the embedded store's: when the filter leaves few
rows they are ranked exactly; otherwise HNSW runs with `hnsw.iterative_scan`, so a filter
that rejects most neighbours still yields `n` results.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from pgvector import Vector as PgVector
from pgvector.psycopg import register_vector
from psycopg import Connection
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool

from likewise.errors import InvalidInput, StoreError
from likewise.events.model import Event
from likewise.filters import parse_where
from likewise.items.model import Item, parse_item
from likewise.profiles.state import ProfileState, Snapshot
from likewise.store import activity
from likewise.store.base import (
    DerivedReads,
    Entry,
    Fetched,
    Hit,
    ProfileUpdate,
    StoreInfo,
    Vector,
    check_query,
)
from likewise.store.embedded import filterable
from likewise.store.location import redact
from likewise.store.pgfilter import candidates, compile_where, filter_columns, number_rows
from likewise.store.pgschema import MIGRATIONS, WRITE_LOCK, insert_numbers, migrate
from likewise.tracking.impressions import Impression
from likewise.tracking.report import Activity, RateRow

__all__ = ["MIGRATIONS", "PgConfig", "PostgresStore", "migrate"]

log = logging.getLogger(__name__)

OPS = {"cosine": "vector_cosine_ops", "dot": "vector_ip_ops", "euclidean": "vector_l2_ops"}
DISTANCE = {"cosine": "<=>", "dot": "<#>", "euclidean": "<->"}


@dataclass(frozen=True)
class PgConfig:
    """Pool and HNSW settings. `ef_search` is the beam width of unfiltered and filtered HNSW
    queries; a filter that leaves at most `exact_below` rows is ranked exactly instead (how
    many a filter leaves is counted once per `plan_seconds`)."""

    pool_min: int = 1
    pool_max: int = 8
    m: int = 16
    ef_construction: int = 64
    ef_search: int = 200
    exact_below: int = 2_000
    max_scan_tuples: int = 40_000
    plan_seconds: float = 60.0


def _encode(vector: Vector | None) -> Any:
    return None if vector is None else PgVector(np.asarray(vector, dtype=np.float32))


def _decode(value: Any) -> Vector | None:
    if value is None:
        return None
    out: Vector = np.asarray(value.to_numpy() if isinstance(value, PgVector) else value, np.float32)
    return out.copy()


PG = activity.Dialect(
    "to_char(to_timestamp({}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')", _encode, _decode
)


@lru_cache(maxsize=256)
def _pg_sql(query: str) -> str:
    return query.replace("%", "%%").replace("?", "%s")


class _Sql:
    """The shared activity SQL (`?` placeholders) run on a psycopg connection."""

    dialect = PG

    def __init__(self, conn: Connection[Any]) -> None:
        self.conn = conn

    def execute(self, query: str, params: Sequence[Any] = (), /) -> Any:
        return self.conn.execute(_pg_sql(query), list(params) or None)

    def executemany(self, query: str, rows: Any, /) -> None:
        rows = list(rows)
        if rows:
            with self.conn.cursor() as cursor:
                cursor.executemany(_pg_sql(query), rows)


class PostgresStore(DerivedReads):
    """A :class:`~likewise.store.base.Store` in a PostgreSQL database with pgvector."""

    def __init__(self, url: str, *, config: PgConfig | None = None) -> None:
        self.url = url
        self.config = config or PgConfig()
        try:
            with Connection.connect(url, autocommit=True) as conn:
                migrate(conn)
            self._pool: ConnectionPool[Any] = ConnectionPool(
                url,
                min_size=self.config.pool_min,
                max_size=self.config.pool_max,
                kwargs={"autocommit": True},
                configure=self._configure,
                open=True,
            )
        except pg_errors.Error as exc:
            raise StoreError(f"cannot open the store at {redact(url)}: {exc}") from exc
        self._info = self._read_info()
        self._closed = threading.Event()
        # Filter -> (few enough to rank exactly?, valid until, catalog version); see `_few`.
        self._plans: dict[tuple[str, tuple[str, ...]], tuple[bool, float, int]] = {}
        self._catalog_version = 0

    # -- connections ------------------------------------------------------------------------

    def _configure(self, conn: Connection[Any]) -> None:
        """Each pooled connection: pgvector's types, and the HNSW settings for this session
        (so a search is one statement, with no SET round trips)."""
        register_vector(conn)
        conn.execute(
            "SELECT set_config('hnsw.ef_search', %s, false), "
            "set_config('hnsw.iterative_scan', 'strict_order', false), "
            "set_config('hnsw.max_scan_tuples', %s, false)",
            (str(self.config.ef_search), str(self.config.max_scan_tuples)),
        )

    @contextmanager
    def _read(self) -> Iterator[Connection[Any]]:
        with self._pool.connection() as conn:
            yield conn

    @contextmanager
    def _write(self, *, catalog: bool = False) -> Iterator[Connection[Any]]:
        """One transaction holding the store's write lock; `catalog` if it changes items."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield conn
        if catalog:
            self._catalog_version += 1

    # -- metadata ---------------------------------------------------------------------------

    @property
    def info(self) -> StoreInfo | None:
        return self._info

    def _read_info(self) -> StoreInfo | None:
        with self._read() as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if "model_id" not in meta:
            return None
        metric: Any = meta.get("metric", "cosine")
        return StoreInfo(meta["model_id"], int(meta["dim"]), metric, meta.get("template", ""))

    def initialize(self, info: StoreInfo) -> None:
        with self._write() as conn:
            if self._info is not None or conn.execute("SELECT 1 FROM meta").fetchone():
                raise StoreError(f"{redact(self.url)} is already initialised")
            self._set_info(conn, info)
        self._info = info

    def _set_info(self, conn: Connection[Any], info: StoreInfo) -> None:
        """Record `info` and (re)build the vector column and its index for its dim and metric."""
        conn.execute(
            "INSERT INTO meta(key, value) SELECT * FROM unnest(%s::text[], %s::text[]) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (
                ["model_id", "dim", "metric", "template"],
                [info.model_id, str(info.dim), info.metric, info.template],
            ),
        )
        conn.execute("DROP INDEX IF EXISTS items_hnsw")
        conn.execute(f"ALTER TABLE items ALTER COLUMN embedding TYPE vector({int(info.dim)})")
        conn.execute(
            f"CREATE INDEX items_hnsw ON items USING hnsw (embedding {OPS[info.metric]}) "
            f"WITH (m = {int(self.config.m)}, ef_construction = {int(self.config.ef_construction)})"
        )

    def _require_info(self) -> StoreInfo:
        if self._info is None:
            raise StoreError(f"{redact(self.url)} has no items yet (no model recorded)")
        return self._info

    # -- writes -----------------------------------------------------------------------------

    def _checked(self, info: StoreInfo, vector: Vector) -> Vector:
        vector = np.asarray(vector, dtype=np.float32)
        if vector.shape != (info.dim,):
            raise InvalidInput(
                f"has shape {vector.shape}, the store holds {info.dim}-d vectors", field="vector"
            )
        if not np.isfinite(vector).all():
            raise InvalidInput("is not finite", field="vector")
        if info.metric == "cosine":
            norm = float(np.linalg.norm(vector))
            vector = vector / norm if norm > 0 else vector
        return vector

    def upsert(self, entries: Sequence[Entry]) -> None:
        info = self._require_info()
        vectors: dict[str, Vector] = {}
        for entry in entries:
            if entry.vector is not None:
                try:
                    vectors[entry.item.id] = self._checked(info, entry.vector)
                except InvalidInput as exc:
                    raise InvalidInput(
                        f"vector of item {entry.item.id!r} {exc.args[0]}", field="vector"
                    ) from None
        if not entries:
            return
        now = time.time()
        with self._write(catalog=True) as conn:
            missing = {e.item.id for e in entries if e.item.id not in vectors}
            if missing:
                known = conn.execute(
                    "SELECT id FROM items WHERE id = ANY(%s)", (list(missing),)
                ).fetchall()
                new = sorted(missing - {r[0] for r in known})
                if new:
                    raise InvalidInput(f"item {new[0]!r} is new and has no vector", field="vector")
            rows = []
            for entry in entries:
                record = entry.item.to_record()
                fkeys, franges = filter_columns(filterable(record))
                vector = vectors.get(entry.item.id)
                rows.append(
                    {
                        "id": entry.item.id,
                        "model": info.model_id,
                        "content": entry.content_hash,
                        "record_hash": entry.item.record_hash(),
                        "record": json.dumps(record, ensure_ascii=False),
                        "fkeys": fkeys,
                        "franges": franges,
                        "vector": None if vector is None else PgVector(vector),
                        "now": now,
                    }
                )
            with conn.cursor() as cursor:
                # A row without a vector keeps the one it has (it exists: checked above).
                cursor.executemany(
                    "INSERT INTO items AS t (id, seq, model_id, content_hash, record_hash, "
                    "record, fkeys, franges, embedding, updated_at) VALUES (%(id)s, "
                    "nextval('item_seq'), %(model)s, %(content)s, %(record_hash)s, %(record)s, "
                    "%(fkeys)s, %(franges)s, %(vector)s, %(now)s) ON CONFLICT (id) DO UPDATE SET "
                    "seq = excluded.seq, model_id = excluded.model_id, "
                    "content_hash = excluded.content_hash, record_hash = excluded.record_hash, "
                    "record = excluded.record, fkeys = excluded.fkeys, "
                    "franges = excluded.franges, updated_at = excluded.updated_at, "
                    "embedding = COALESCE(excluded.embedding, t.embedding)",
                    rows,
                )
                cursor.execute(
                    "DELETE FROM item_numbers WHERE item_id = ANY(%s)",
                    ([e.item.id for e in entries],),
                )
                insert_numbers(
                    conn,
                    [
                        x
                        for e in {e.item.id: e for e in entries}.values()
                        for x in number_rows(e.item.id, filterable(e.item.to_record()))
                    ],
                )

    def delete(self, ids: Sequence[str]) -> int:
        with self._write(catalog=True) as conn:
            cursor = conn.execute("DELETE FROM items WHERE id = ANY(%s)", (list(set(ids)),))
            return cursor.rowcount

    def replace_all(self, info: StoreInfo, entries: Sequence[Entry]) -> None:
        checked = [(e, self._checked(info, e.vector)) for e in entries if e.vector is not None]
        with self._write(catalog=True) as conn:
            stored = {r[0] for r in conn.execute("SELECT id FROM items").fetchall()}
            if stored != {e.item.id for e in entries} or len(checked) != len(entries):
                raise StoreError("replace_all needs a new vector for every stored item")
            conn.execute("DROP INDEX IF EXISTS items_hnsw")
            conn.execute("ALTER TABLE items ALTER COLUMN embedding TYPE vector USING NULL")
            with conn.cursor() as cursor:
                cursor.executemany(
                    "UPDATE items SET embedding = %s, content_hash = %s, model_id = %s "
                    "WHERE id = %s",
                    [(PgVector(v), e.content_hash, info.model_id, e.item.id) for e, v in checked],
                )
            self._set_info(conn, info)
        self._info = info

    # -- reads ------------------------------------------------------------------------------

    def get(self, ids: Sequence[str]) -> list[Item]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, record FROM items WHERE id = ANY(%s)", (list(ids),)
            ).fetchall()
        found = {r[0]: parse_item(r[1]) for r in rows}
        return [found[i] for i in ids if i in found]

    def titles(self, ids: Sequence[str]) -> dict[str, str]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, record ->> 'title' FROM items WHERE id = ANY(%s)", (list(ids),)
            ).fetchall()
        return {r[0]: r[1] or "" for r in rows}

    def hashes(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, content_hash, record_hash FROM items WHERE id = ANY(%s)", (list(ids),)
            ).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def all_ids(self) -> list[str]:
        with self._read() as conn:
            return [r[0] for r in conn.execute('SELECT id FROM items ORDER BY id COLLATE "C"')]

    def vectors(self, ids: Sequence[str]) -> dict[str, Vector]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, embedding FROM items WHERE id = ANY(%s)", (list(ids),)
            ).fetchall()
        found = {r[0]: _decode(r[1]) for r in rows}
        return {i: v for i in ids if (v := found.get(i)) is not None}

    def fetch(self, ids: Sequence[str]) -> dict[str, Fetched]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, embedding, record FROM items WHERE id = ANY(%s)", (list(ids),)
            ).fetchall()
        found = {
            r[0]: Fetched(r[0], _decode(r[1]), filterable(r[2]), r[2].get("title") or "")
            for r in rows
        }
        return {i: found[i] for i in ids if i in found}

    def matching(self, ids: Sequence[str], where: Mapping[str, Any] | None) -> list[str]:
        condition, params = compile_where(parse_where(where))
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT id FROM items WHERE id = ANY(%s) AND {condition}", [list(ids), *params]
            ).fetchall()
        found = {r[0] for r in rows}
        return [i for i in ids if i in found]

    def count(self, where: Mapping[str, Any] | None = None) -> int:
        condition, params = compile_where(parse_where(where))
        with self._read() as conn:
            row = conn.execute(f"SELECT COUNT(*) FROM items WHERE {condition}", params).fetchone()
        return int(row[0]) if row else 0

    def search(
        self,
        vector: Vector,
        *,
        n: int,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
    ) -> list[Hit]:
        node = parse_where(where)
        info = self._require_info()
        vector = check_query(info, vector, n)
        query = PgVector(self._checked(info, vector))
        condition, params = compile_where(node)
        skip = " AND id <> ALL(%s)" if exclude else ""
        args = [*params, list(exclude)] if exclude else params
        distance = DISTANCE[info.metric]
        with self._read() as conn:
            subset, subset_params = _subset(node, condition, params)
            if node is not None and self._few(conn, subset, subset_params):
                # Rank the few matching rows exactly. `+ 0` keeps HNSW out: the index can
                # order by the distance operator, not by an expression over it.
                rows = conn.execute(
                    f"SELECT id, (embedding {distance} %b) + 0 AS d FROM items "
                    f"WHERE {subset}{skip} ORDER BY d, id LIMIT %s",
                    [query, *subset_params, *args[len(params) :], n],
                ).fetchall()
            elif n > self.config.ef_search:  # a wider beam for this query only
                with conn.transaction():
                    conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(n),))
                    rows = self._nearest(conn, distance, condition + skip, [query, *args, n])
            else:
                rows = self._nearest(conn, distance, condition + skip, [query, *args, n])
        return [Hit(i, _score(info.metric, d)) for i, d in rows]

    def _nearest(
        self, conn: Connection[Any], distance: str, condition: str, params: list[Any]
    ) -> list[Any]:
        """HNSW (iterative scan) over the rows passing `condition`."""
        return conn.execute(
            f"SELECT id, embedding {distance} %b AS d FROM items WHERE {condition} "
            "ORDER BY d LIMIT %s",
            params,
        ).fetchall()

    def _few(self, conn: Connection[Any], condition: str, params: list[Any]) -> bool:
        """Whether at most `exact_below` items pass `condition` (counting stops past that).

        Filters repeat (a category page asks the same one for every visitor), so the answer
        is kept per filter for `plan_seconds`, and dropped when this process writes items.
        """
        key = (condition, tuple(map(repr, params)))
        now = time.monotonic()
        known = self._plans.get(key)
        if known is not None and known[1] > now and known[2] == self._catalog_version:
            return known[0]
        limit = self.config.exact_below
        row = conn.execute(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM items WHERE {condition} LIMIT %s) AS c",
            [*params, limit + 1],
        ).fetchone()
        few = row is not None and int(row[0]) <= limit
        if len(self._plans) >= 1024:
            self._plans.clear()
        self._plans[key] = (few, now + self.config.plan_seconds, self._catalog_version)
        return few

    def popular(
        self,
        *,
        n: int,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        trending: bool = False,
    ) -> list[Hit]:
        if n < 1:
            raise InvalidInput("must be at least 1", field="n")
        condition, params = compile_where(parse_where(where))
        order, now = ("trend", time.time()) if trending else ("score", 0.0)
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT p.item_id, p.{order} FROM popularity p JOIN items ON id = p.item_id "
                f"WHERE {condition} AND id <> ALL(%s) ORDER BY p.{order} DESC, p.item_id "
                'COLLATE "C" LIMIT %s',
                [*params, list(exclude), n],
            ).fetchall()
            hits = [Hit(i, activity.trend_score(s, now) if trending else float(s)) for i, s in rows]
            if len(hits) < n:
                taken = [*exclude, *(h.id for h in hits)]
                newest = conn.execute(
                    f"SELECT id FROM items WHERE {condition} AND id <> ALL(%s) "
                    "ORDER BY seq DESC LIMIT %s",
                    [*params, taken, n - len(hits)],
                ).fetchall()
                hits += [Hit(r[0], 0.0) for r in newest]
        return hits

    def stats(self) -> dict[str, Any]:
        info = self._info
        with self._read() as conn:
            row = conn.execute(
                "SELECT (SELECT COUNT(*) FROM items), (SELECT COUNT(*) FROM events), "
                "(SELECT COUNT(*) FROM profiles), pg_database_size(current_database())"
            ).fetchone()
        assert row is not None
        items, events, profiles, size = row
        return {
            "location": redact(self.url),
            "backend": "postgres",
            "items": items,
            "events": events,
            "profiles": profiles,
            "model": info.model_id if info else None,
            "dim": info.dim if info else None,
            "metric": info.metric if info else None,
            "template": info.template if info else None,
            "schema_version": max(MIGRATIONS),
            "db_bytes": size,
        }

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._pool.close()

    # -- events, profiles, tracking: the shared SQL of `activity` ----------------------------

    def record(
        self, events: Sequence[Event], signals: Sequence[float], update: ProfileUpdate
    ) -> list[bool]:
        if not events:
            return []
        with self._write() as conn:
            return activity.record(_Sql(conn), events, signals, update)

    def profile(self, user_id: str) -> ProfileState | None:
        with self._read() as conn:
            return activity.load_profile(_Sql(conn), user_id)

    def user(self, user_id: str) -> tuple[ProfileState | None, list[str]]:
        with self._read() as conn:
            sql = _Sql(conn)
            return activity.load_profile(sql, user_id), activity.seen(sql, user_id)

    def put_profiles(
        self, profiles: Sequence[tuple[ProfileState, Sequence[Snapshot]]], *, replace: bool
    ) -> None:
        with self._write() as conn:
            if replace:
                conn.execute(
                    "DELETE FROM profile_history WHERE user_id = ANY(%s)",
                    ([state.user_id for state, _ in profiles],),
                )
            activity.save_profiles(_Sql(conn), profiles)

    def snapshots(self, user_id: str, limit: int) -> list[Snapshot]:
        with self._read() as conn:
            return activity.snapshots(_Sql(conn), user_id, limit)

    def seen(self, user_id: str) -> list[str]:
        with self._read() as conn:
            return activity.seen(_Sql(conn), user_id)

    def events(self, batch: int = 10_000) -> Iterator[list[tuple[Event, float]]]:
        with self._read() as conn:
            yield from activity.iter_events(_Sql(conn), batch)

    def forget_user(self, user_id: str) -> dict[str, int]:
        with self._write() as conn:
            return activity.forget_user(_Sql(conn), user_id)

    def log_impressions(self, impressions: Sequence[Impression]) -> None:
        with self._pool.connection() as conn, conn.transaction():
            activity.log_impressions(_Sql(conn), impressions)

    def shown(self, user_id: str, last: int = 50) -> dict[str, int]:
        with self._read() as conn:
            return activity.shown(_Sql(conn), user_id, last)

    def rate_rows(
        self, group_by: str, since: float, clicks: Sequence[str], conversions: Sequence[str]
    ) -> list[RateRow]:
        with self._read() as conn:
            return activity.rate_rows(_Sql(conn), group_by, since, clicks, conversions)

    def activity(self, since: float) -> Activity:
        with self._read() as conn:
            return activity.activity(_Sql(conn), since)

    def export_rows(self, table: str, batch: int = 5_000) -> Iterator[list[tuple[Any, ...]]]:
        with self._read() as conn:
            yield from activity.dump_rows(_Sql(conn), table, batch)

    def import_rows(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        with self._write() as conn:
            activity.load_rows(_Sql(conn), table, rows)

    def put_blob(self, name: str, data: bytes) -> None:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO blobs(name, data, at) VALUES (%s, %s, %s) ON CONFLICT(name) "
                "DO UPDATE SET data = excluded.data, at = excluded.at",
                (name, data, time.time()),
            )

    def get_blob(self, name: str) -> bytes | None:
        with self._read() as conn:
            row = conn.execute("SELECT data FROM blobs WHERE name = %s", (name,)).fetchone()
        return None if row is None else bytes(row[0])


def _subset(node: Any, condition: str, params: list[Any]) -> tuple[str, list[Any]]:
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
