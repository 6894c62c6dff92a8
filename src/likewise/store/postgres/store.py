"""The PostgreSQL + pgvector store: the same contract as the embedded one, on a shared database.

Several stateless servers can share one database: every read asks the database (there is no
in-process index to catch up), every write is one transaction. Writes that change profiles,
popularity or the catalog also take one advisory lock, so concurrent writers (two servers
recording events for one user) are serialised and lose nothing, as SQLite's single writer is.

Text vectors live in `items.embedding`, each other space's in a `space_NAME` table, each with
an HNSW index in the ops class of its metric. Searches are planned in `search.py`; events,
profiles and tracking are the shared SQL of `likewise.store.sql`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from pgvector import Vector as PgVector
from pgvector.psycopg import register_vector
from psycopg import Connection

from likewise.errors import ConfigError, InvalidInput, StoreError
from likewise.filters import filterable, parse_where
from likewise.items.model import Item, stored_item
from likewise.store.base import TEXT, Entry, Fetched, Hit, Space, StoreInfo, Vector
from likewise.store.checks import check_space, check_vectors
from likewise.store.derived import DerivedReads
from likewise.store.location import redact
from likewise.store.postgres import catalog
from likewise.store.postgres.bulk import BulkLoad
from likewise.store.postgres.errors import postgres_error, translated
from likewise.store.postgres.filter import compile_where
from likewise.store.postgres.pool import Connections
from likewise.store.postgres.schema import FORGET_LOCK, MIGRATIONS, WRITE_LOCK, migrate
from likewise.store.postgres.search import PgConfig, Planner, space_source
from likewise.store.postgres.shadow import ShadowColumn
from likewise.store.postgres.shared import Shared
from likewise.store.sql import Dialect, Sql, SqlActivity
from likewise.store.sql.activity import trend_score

__all__ = ["PG", "PgConfig", "PostgresStore"]

log = logging.getLogger(__name__)
META_SECONDS = 5.0  # how stale this server's view of the model and spaces may be


def _encode(vector: Vector | None) -> Any:
    return None if vector is None else PgVector(np.asarray(vector, dtype=np.float32))


def _decode(value: Any) -> Vector | None:
    if value is None:
        return None
    out: Vector = np.asarray(value.to_numpy() if isinstance(value, PgVector) else value, np.float32)
    return out.copy()


PG = Dialect(
    "postgres",
    "%s",
    "to_char(to_timestamp({col}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    _encode,
    _decode,
    escape_percent=True,
    forget_lock=f"SELECT pg_advisory_xact_lock({FORGET_LOCK})",
    forget_lock_shared=f"SELECT pg_advisory_xact_lock_shared({FORGET_LOCK})",
)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _sql(conn: Connection[Any]) -> Sql:
    def many(query: str, rows: list[Any]) -> None:
        with conn.cursor() as cursor:
            cursor.executemany(query, rows)

    return Sql(conn, PG, many)


@translated
class PostgresStore(Shared, BulkLoad, SqlActivity, DerivedReads, ShadowColumn):
    """A :class:`~likewise.store.base.Store` in a PostgreSQL database with pgvector."""

    def __init__(
        self, url: str, *, config: PgConfig | None = None, read_urls: Sequence[str] = ()
    ) -> None:
        self.url = url
        self.config = config or PgConfig()
        try:
            with Connection.connect(url, autocommit=True, connect_timeout=10) as conn:
                migrate(conn)
            self._pool = Connections(url, self.config, self._configure)
            self._share(read_urls, self.config, self._configure)
            self._closed = threading.Event()
            self._planner = Planner(self.config)
            self._refresh_meta()
        except BaseException as exc:
            if "_pool" in self.__dict__:
                self._pool.close()
            self._unshare()
            named = postgres_error(exc) if isinstance(exc, Exception) else None
            if named is None:
                raise
            problem = f"cannot open the store at {redact(url)}: {_one_line(exc)}"
            raise type(named)(problem) from exc

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
        with self._router.reading() as conn:
            yield conn

    @contextmanager
    def _write(self, *, catalog: bool = False, exclusive: bool = True) -> Iterator[Connection[Any]]:
        """One transaction, holding the store's write lock if `exclusive`; `catalog` if it
        changes items (the search plans kept per filter are then stale)."""
        with self._pool.connection() as conn, conn.transaction():
            if exclusive:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield conn
            self._announce(conn, exclusive or catalog)  # told to the others at commit
        self._wrote(exclusive or catalog)
        if catalog:
            self._planner.catalog_version += 1

    @contextmanager
    def _reading(self) -> Iterator[Sql]:
        with self._read() as conn:
            yield _sql(conn)

    @contextmanager
    def _writing(self, *, exclusive: bool = True) -> Iterator[Sql]:
        with self._write(exclusive=exclusive) as conn:
            yield _sql(conn)

    # -- metadata and spaces ----------------------------------------------------------------

    @property
    def info(self) -> StoreInfo | None:
        if time.monotonic() - self._meta_at > META_SECONDS:  # another server may re-embed
            self._refresh_meta()
        return self._info

    def _refresh_meta(self) -> None:
        with self._read() as conn:
            self._info, self._spaces = catalog.read_meta(conn)
        self._meta_at = time.monotonic()

    def initialize(self, info: StoreInfo) -> None:
        check_space(info.text, catalog.HNSW_DIM, catalog.HNSW_WHY)
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM meta WHERE key = 'model_id'").fetchone():
                raise StoreError(f"{redact(self.url)} is already initialised")
            catalog.set_info(conn, info, self.config)
        self._refresh_meta()

    def _require_info(self) -> StoreInfo:
        info = self.info
        if info is None:
            raise StoreError(f"{redact(self.url)} has no items yet (no model recorded)")
        return info

    def spaces(self) -> dict[str, Space]:
        self._require_info()
        self._refresh_meta()  # another server may have added one
        return dict(self._spaces)

    def add_space(self, space: Space) -> None:
        check_space(space, catalog.HNSW_DIM, catalog.HNSW_WHY)
        self._require_info()
        with self._write() as conn:
            known = catalog.read_meta(conn)[1]  # read under the write lock: servers may race
            if space.name in known:
                if known[space.name] != space:
                    raise ConfigError(f"space {space.name!r} exists as {known[space.name]}")
                return
            catalog.add_space(conn, space, known, self.config)
        self._refresh_meta()

    def _space(self, name: str) -> Space:
        self._require_info()
        if name not in self._spaces:
            self._refresh_meta()
        if name not in self._spaces:
            known = ", ".join(self._spaces)
            raise InvalidInput(f"unknown space {name!r}; known: {known}", field="space")
        return self._spaces[name]

    # -- writes -----------------------------------------------------------------------------

    def upsert(self, entries: Sequence[Entry]) -> None:
        info = self._require_info()
        given = {e.item.id: e.vector for e in entries if e.vector is not None}
        vectors = catalog.normalised(info.text, check_vectors(info.text, given))
        if entries:
            with self._write(catalog=True) as conn:
                catalog.upsert(conn, info, entries, vectors)

    def put_vectors(self, space: str, vectors: Mapping[str, Vector]) -> None:
        target = self._space(space)
        if space == TEXT:
            raise InvalidInput("text vectors come with their items (upsert)", field="space")
        rows = check_vectors(target, vectors)
        with self._write(catalog=True) as conn:
            catalog.put_vectors(conn, target, rows)

    def drop_vectors(self, space: str, ids: Sequence[str]) -> None:
        target = self._space(space)
        if space == TEXT:
            raise InvalidInput("text vectors go with their items (delete)", field="space")
        with self._write(catalog=True) as conn:
            conn.execute(f"DELETE FROM space_{target.name} WHERE item_id = ANY(%s)", (list(ids),))

    def delete(self, ids: Sequence[str]) -> int:
        with self._write(catalog=True) as conn:
            cursor = conn.execute("DELETE FROM items WHERE id = ANY(%s)", (list(set(ids)),))
            return cursor.rowcount

    def replace_all(self, info: StoreInfo, entries: Sequence[Entry]) -> None:
        with self._write(catalog=True) as conn:
            catalog.replace_text(conn, info, entries, self.config)
        self._refresh_meta()

    # -- reads ------------------------------------------------------------------------------

    def get(self, ids: Sequence[str]) -> list[Item]:
        found = {r[0]: stored_item(r[1]) for r in self._by_id(ids, "record")}
        return [found[i] for i in ids if i in found]

    def titles(self, ids: Sequence[str]) -> dict[str, str]:
        return {r[0]: r[1] or "" for r in self._by_id(ids, "record ->> 'title'")}

    def hashes(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        return {r[0]: (r[1], r[2]) for r in self._by_id(ids, "content_hash, record_hash")}

    def _by_id(self, ids: Sequence[str], columns: str, source: str = "items") -> list[Any]:
        with self._read() as conn:
            query = f"SELECT id, {columns} FROM {source} WHERE id = ANY(%s)"
            return conn.execute(query, (list(ids),)).fetchall()

    def all_ids(self) -> list[str]:
        with self._read() as conn:
            return [r[0] for r in conn.execute('SELECT id FROM items ORDER BY id COLLATE "C"')]

    def vectors(self, ids: Sequence[str], *, space: str = TEXT) -> dict[str, Vector]:
        source, column = space_source(self._space(space).name)
        found = {r[0]: _decode(r[1]) for r in self._by_id(ids, column, source)}
        return {i: v for i in ids if (v := found.get(i)) is not None}

    def fetch(
        self, ids: Sequence[str], *, space: str = TEXT, details: Collection[str] | None = None
    ) -> dict[str, Fetched]:
        source, column = space_source(self._space(space).name)
        if space != TEXT:  # every item, with its vector in the space if it has one
            source = source.replace(" JOIN ", " RIGHT JOIN ")
        record = "record" if details is None else "CASE WHEN id = ANY(%s) THEN record END"
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT id, {column}, record ->> 'title', {record} FROM {source} "
                "WHERE id = ANY(%s)",
                [list(ids)] if details is None else [list(details), list(ids)],
            ).fetchall()
        found = {
            i: Fetched(i, _decode(v), None if rec is None else filterable(rec), title or "")
            for i, v, title, rec in rows
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
        space: str = TEXT,
    ) -> list[Hit]:
        node = parse_where(where)
        self._require_info()
        target, vector = self._query(space, vector, n)
        query = PgVector(catalog.normalised(target, {"q": vector})["q"])
        with self._read() as conn, self._same_dim(target):
            rows = self._planner.search(conn, target, query, n, node, list(exclude))
        return [Hit(i, s) for i, s in rows]

    def popular(
        self,
        *,
        n: int,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        trending: bool = False,
        newest: bool = False,
    ) -> list[Hit]:
        if n < 1:
            raise InvalidInput("must be at least 1", field="n")
        condition, params = compile_where(parse_where(where))
        self._count_popularity()  # the events recorded since it last counted
        order, now = ("trend", time.time()) if trending else ("score", 0.0)
        with self._read() as conn:
            rows = (
                []
                if newest
                else conn.execute(
                    f"SELECT p.item_id, p.{order} FROM popularity p JOIN items ON id = p.item_id "
                    f"WHERE {condition} AND id <> ALL(%s) ORDER BY p.{order} DESC, p.item_id "
                    'COLLATE "C" LIMIT %s',
                    [*params, list(exclude), n],
                ).fetchall()
            )
            hits = [Hit(i, trend_score(s, now) if trending else float(s)) for i, s in rows]
            if len(hits) < n:
                taken = [*exclude, *(h.id for h in hits)]
                latest = conn.execute(
                    f"SELECT id FROM items WHERE {condition} AND id <> ALL(%s) "
                    "ORDER BY seq DESC LIMIT %s",
                    [*params, taken, n - len(hits)],
                ).fetchall()
                hits += [Hit(r[0], 0.0) for r in latest]
        return hits

    def stats(self) -> dict[str, Any]:
        info = self.info
        spaces = self.spaces() if info is not None else {}
        with self._read() as conn:
            row = conn.execute(
                "SELECT (SELECT COUNT(*) FROM items), (SELECT COUNT(*) FROM events), "
                "(SELECT COUNT(*) FROM profiles), pg_database_size(current_database())"
            ).fetchone()
            sizes = {
                name: conn.execute(f"SELECT COUNT(*) FROM {space_source(name)[0]}").fetchone()
                for name in spaces
            }
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
            "spaces": {
                name: {"dim": s.dim, "metric": s.metric, "vectors": int((sizes[name] or [0])[0])}
                for name, s in spaces.items()
            },
            "schema_version": max(MIGRATIONS),
            "db_bytes": size,
        }

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._unshare()
            self._pool.close()
