"""PostgreSQL for items, events and profiles; Milvus for the vectors of every space.

`MilvusStore` is the PostgreSQL store with its vector half moved out: each space's vectors,
with the items' filterable fields, are a Milvus collection (`collections.py`), searched with
the filter compiled to a Milvus expression (`expr.py`). Item rows, counts, popularity and
the whole activity half stay in PostgreSQL, so several servers share them as before.

A write commits in PostgreSQL first, queueing its vectors in `vectors_pending`, then sends
them to Milvus (`outbox.py`); opening the store sends what a crash left queued. Reembedding
(the shadow of `text`) is not supported here yet.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from psycopg import Connection

from likewise.errors import ConfigError, InvalidInput, LikewiseError, StoreError, StoreUnavailable
from likewise.filters import filterable, parse_where
from likewise.store.base import TEXT, Entry, Fetched, Hit, Space, StoreInfo, Vector
from likewise.store.boundary import translating
from likewise.store.checks import check_vectors
from likewise.store.location import redact
from likewise.store.milvus.collections import CONSISTENCY, MilvusConfig, MilvusSpaces
from likewise.store.milvus.expr import compile_expr
from likewise.store.milvus.outbox import CREATE, PREFIX_KEY, drain, hold, pend
from likewise.store.postgres import catalog
from likewise.store.postgres.bulk import Batch
from likewise.store.postgres.errors import postgres_error
from likewise.store.postgres.search import PgConfig
from likewise.store.postgres.store import PostgresStore
from likewise.store.shadow import Shadow, ShadowRow

__all__ = ["MilvusStore"]

log = logging.getLogger(__name__)
_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_NO_REEMBED = "reembed is not supported yet with vectors in Milvus"


def vectors_error(exc: BaseException) -> LikewiseError | None:
    """PostgreSQL's errors as the PostgreSQL store names them; Milvus unreachable is
    unavailable (try again later), any other Milvus failure a store error."""
    named = postgres_error(exc)
    if named is not None:
        return named
    try:
        from pymilvus.exceptions import (  # type: ignore[import-untyped]
            MilvusException,
            MilvusUnavailableException,
        )
    except ImportError:
        return None
    if isinstance(exc, MilvusUnavailableException):
        return StoreUnavailable(f"Milvus is unavailable: {exc.message}")
    if isinstance(exc, MilvusException):
        return StoreError(f"Milvus failed: {exc.message}")
    return None


@translating(vectors_error)
class MilvusStore(PostgresStore):
    """A :class:`~likewise.store.base.Store` in PostgreSQL with its vectors in Milvus at
    `vectors` (``http://host:19530[/prefix][?consistency=strong]``: the collections are
    named `{prefix}_{space}`; `consistency` is one of strong (the default), session, bounded
    and eventually, see `collections.py`; it replaces that of `milvus`)."""

    def __init__(
        self,
        url: str,
        vectors: str,
        *,
        config: PgConfig | None = None,
        milvus: MilvusConfig | None = None,
    ) -> None:
        super().__init__(url, config=config)
        try:
            uri, named, options = _collections_named(vectors)
            prefix = self._prepare(named)
            self.milvus = MilvusSpaces(uri, prefix, replace(milvus or MilvusConfig(), **options))
            self._repair()
        except BaseException as exc:
            super().close()
            error = vectors_error(exc) if isinstance(exc, Exception) else None
            if error is None:
                raise
            raise type(error)(f"cannot open the vectors at {vectors}: {error}") from exc

    def _prepare(self, named: str | None) -> str:
        """The pending table, and the prefix of this store's collections: the one the URL
        names, else one made at random; kept in `meta` at the first open, since several
        stores may share one Milvus (ConfigError if the URL names another later)."""
        with self._write() as conn:
            conn.execute(CREATE)
            conn.execute(
                "INSERT INTO meta(key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                (PREFIX_KEY, named or f"lw_{secrets.token_hex(6)}"),
            )
            row = conn.execute("SELECT value FROM meta WHERE key = %s", (PREFIX_KEY,)).fetchone()
        assert row is not None
        if named is not None and row[0] != named:
            raise ConfigError(
                f"this database's vectors are in the collections {row[0]}_*, not {named}_*",
                field="vectors",
            )
        return str(row[0])

    def _repair(self) -> None:
        """Send what a process that died between the two writes left queued."""
        sent = self._drain()
        if sent:
            log.warning("sent %d vector changes a crash had left queued to Milvus", sent)

    def _drain(self) -> int:
        spaces = self.spaces() if self.info is not None else {}
        with self._read() as conn:
            return drain(conn, self.milvus, spaces)

    def _sent(self) -> None:
        """After a PostgreSQL commit that queued vector changes: send them."""
        hold()
        self._drain()

    # -- spaces -----------------------------------------------------------------------------

    def initialize(self, info: StoreInfo) -> None:
        """As the PostgreSQL store does, emptying the prefix's collections first, in the same
        lock: until the model is recorded no server writes here, so nothing is lost."""
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM meta WHERE key = 'model_id'").fetchone():
                raise StoreError(f"{redact(self.url)} is already initialised")
            self.milvus.empty_all()
            catalog.set_info(conn, info, self.config)
        self._refresh_meta()
        self.milvus.ensure(info.text, replace=True)

    def add_space(self, space: Space) -> None:
        super().add_space(space)
        self.milvus.ensure(self._space(space.name), replace=True)

    # -- writes -----------------------------------------------------------------------------

    def bulk_load(self, batches: Iterable[Batch]) -> int:
        """Every item of `batches`, written as any write is (PostgreSQL's COPY would leave the
        vectors out of Milvus): PostgreSQL first, then Milvus through the outbox."""
        count = 0
        for entries, others in batches:
            self.upsert(entries)
            for name, found in others.items():
                self.put_vectors(name, found)
            count += len(entries)
        return count

    def upsert(self, entries: Sequence[Entry]) -> None:
        info = self._require_info()
        given = {e.item.id: e.vector for e in entries if e.vector is not None}
        vectors = catalog.normalised(info.text, check_vectors(info.text, given))
        if not entries:
            return
        with self._write(catalog=True) as conn:
            catalog.upsert(conn, info, entries, vectors, keep_vectors=False)
            pend(conn, vectors=vectors, space=TEXT, changed=[e.item.id for e in entries])
        self._sent()

    def put_vectors(self, space: str, vectors: Mapping[str, Vector]) -> None:
        target = self._space(space)
        if space == TEXT:
            raise InvalidInput("text vectors come with their items (upsert)", field="space")
        rows = catalog.normalised(target, check_vectors(target, vectors))
        with self._write(catalog=True) as conn:
            _known(conn, list(rows))
            pend(conn, vectors=rows, space=space)
        self._sent()

    def delete(self, ids: Sequence[str]) -> int:
        with self._write(catalog=True) as conn:
            rows = conn.execute(
                "DELETE FROM items WHERE id = ANY(%s) RETURNING id", (list(set(ids)),)
            ).fetchall()
            pend(conn, deleted=[r[0] for r in rows])
        self._sent()
        return len(rows)

    def replace_all(self, info: StoreInfo, entries: Sequence[Entry]) -> None:
        vectors = catalog.normalised(
            info.text, {e.item.id: e.vector for e in entries if e.vector is not None}
        )
        with self._write(catalog=True) as conn:
            stored = {r[0] for r in conn.execute("SELECT id FROM items").fetchall()}
            if stored != {e.item.id for e in entries} or len(vectors) != len(entries):
                raise StoreError("replace_all needs a new vector for every stored item")
            with conn.cursor() as cursor:
                cursor.executemany(
                    "UPDATE items SET content_hash = %s, model_id = %s WHERE id = %s",
                    [(e.content_hash, info.model_id, e.item.id) for e in entries],
                )
            catalog.set_info(conn, info, self.config)
            pend(conn, vectors=vectors, space=TEXT)
        self._refresh_meta()
        self.milvus.ensure(info.text, replace=True)  # another dimension: a fresh collection
        self._sent()

    # -- reads ------------------------------------------------------------------------------

    def vectors(self, ids: Sequence[str], *, space: str = TEXT) -> dict[str, Vector]:
        found = self.milvus.vectors(self._space(space), list(dict.fromkeys(ids)))
        return {i: found[i] for i in ids if i in found}

    def fetch(
        self, ids: Sequence[str], *, space: str = TEXT, details: Collection[str] | None = None
    ) -> dict[str, Fetched]:
        target = self._space(space)
        record = "record" if details is None else "CASE WHEN id = ANY(%s) THEN record END"
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT id, record ->> 'title', {record} FROM items WHERE id = ANY(%s)",
                [list(ids)] if details is None else [list(details), list(ids)],
            ).fetchall()
        vectors = self.milvus.vectors(target, [r[0] for r in rows])
        found = {
            i: Fetched(i, vectors.get(i), None if rec is None else filterable(rec), title or "")
            for i, title, rec in rows
        }
        return {i: found[i] for i in ids if i in found}

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
        query = catalog.normalised(target, {"q": vector})["q"]
        hits = self.milvus.search(target, query, n, compile_expr(node, exclude))
        return [Hit(i, s) for i, s in hits]

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        spaces = self.spaces() if self.info is not None else {}
        for name, space in spaces.items():
            out["spaces"][name]["vectors"] = self.milvus.count(space)
        with self._read() as conn:
            row = conn.execute("SELECT COUNT(*) FROM vectors_pending").fetchone()
        out["backend"] = "postgres+milvus"
        out["vectors_pending"] = int(row[0]) if row else 0
        return out

    # -- the shadow of `text` ---------------------------------------------------------------

    def begin_shadow(self, shadow: Shadow) -> None:
        raise ConfigError(_NO_REEMBED, field="model")

    def put_shadow(self, rows: Sequence[ShadowRow]) -> int:
        raise ConfigError(_NO_REEMBED, field="model")

    def swap_shadow(self) -> None:
        raise ConfigError(_NO_REEMBED, field="model")

    def close(self) -> None:
        if not self._closed.is_set():
            self.milvus.close()
        super().close()


def _collections_named(vectors: str) -> tuple[str, str | None, dict[str, Any]]:
    """Milvus's URL without a path or query, the prefix the path names (None if it has
    none), and the MilvusConfig fields the query sets."""
    parts = urlsplit(vectors)
    named = parts.path.strip("/") or None
    if named is not None and not _PREFIX.match(named):
        raise ConfigError(
            f"{vectors}: the path names the collections' prefix: 1-64 of A-Z, a-z, 0-9 and _, "
            "starting with a letter",
            field="vectors",
        )
    options: dict[str, Any] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key != "consistency":
            raise ConfigError(
                f"{vectors}: unknown option {key!r}; the one known is consistency",
                field="vectors",
            )
        if value.lower() not in CONSISTENCY:
            raise ConfigError(
                f"consistency={value!r}: use one of {', '.join(CONSISTENCY)}",
                field="consistency",
            )
        options["consistency"] = CONSISTENCY[value.lower()]
    return urlunsplit(parts._replace(path="", query="")), named, options


def _known(conn: Connection[Any], ids: list[str]) -> None:
    """InvalidInput naming the first of `ids` no item has."""
    found = {r[0] for r in conn.execute("SELECT id FROM items WHERE id = ANY(%s)", (ids,))}
    missing = sorted(set(ids) - found)
    if missing:
        raise InvalidInput(f"unknown item {missing[0]!r}", field="vectors")
