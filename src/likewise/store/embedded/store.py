"""The embedded store: one data directory, SQLite (WAL) for records and vectors, faiss in memory.

SQLite is the truth and every write is durable when the call returns. Each vector space has an
in-memory index that is a cache of its rows (`space.py`): at open, or when another process has
written, it catches up by reading rows past what it holds. Snapshots of the indexes are saved at
close, so a large store opens without rebuilding. Events, profiles and tracking are the shared
SQL of `likewise.store.sql`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from likewise.errors import ConfigError, InvalidInput, StoreError
from likewise.filters import parse_where
from likewise.items.model import Item, stored_item
from likewise.store.base import TEXT, Entry, Hit, Space, StoreInfo, Vector
from likewise.store.checks import check_query, check_space, check_vectors
from likewise.store.derived import DerivedReads
from likewise.store.embedded import catalog, schema
from likewise.store.embedded.ann import AnnConfig
from likewise.store.embedded.catalog import SQLITE
from likewise.store.embedded.connection import connect, transaction
from likewise.store.embedded.details import Details
from likewise.store.embedded.digest import BatchSearch
from likewise.store.embedded.errors import sqlite_error, translated
from likewise.store.embedded.fetch import Fetching
from likewise.store.embedded.locks import RWLock
from likewise.store.embedded.meta import (
    catalog_writes,
    count_catalog_write,
    info_meta,
    read_meta,
    set_meta,
    spaces_meta,
    versions,
)
from likewise.store.embedded.presence import Presence
from likewise.store.embedded.shadow import ShadowSpace
from likewise.store.embedded.space import SpaceIndex, create_tables
from likewise.store.embedded.written import Written
from likewise.store.shadow import SHADOW
from likewise.store.sql import Sql

__all__ = ["SQLITE", "EmbeddedStore"]

T = TypeVar("T")


@translated
class EmbeddedStore(BatchSearch, Fetching, DerivedReads, ShadowSpace):
    """A :class:`~likewise.store.base.Store` in a directory: `likewise.db` plus `index/`."""

    def __init__(self, path: str | Path, *, ann: AnnConfig | None = None) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"data location {self.path} exists and is not a directory")
        if not str(self.path).isascii():  # faiss writes its files by this UTF-8 name
            _check_utf8(self.path)
        self._ann = ann or AnnConfig()
        self._share()  # its writes told to the other processes, theirs heard (changes.py)
        try:
            self._presence = Presence(self.path)  # made, put right, held shared (presence.py)
            self._db = connect(self.path)
            schema.prepare(self._db, str(self.path))
            create_tables(self._db, TEXT)
            self._rdb = connect(self.path)  # reads: under WAL, the last commit during a write
            self._sql = threading.RLock()  # one connection, one statement at a time
            self._rsql = threading.RLock()  # the same for the reading connection
            self._writer = threading.Lock()  # one write transaction + index update at a time
            self._rw = RWLock()  # searches share the indexes; catching up takes them alone
            self._meta = read_meta(self._rdb)
            self._data_version = -1
            self._spaces: dict[str, SpaceIndex] = {}
            self._shadow: SpaceIndex | None = None  # a reembed's new vectors (shadow.py)
            self._details = Details()  # the fields `fetch` parsed, by text label
            with self._rw.write():
                self._sync(load=True)
        except (OSError, sqlite3.Error) as exc:
            self._close_connections()
            kind = type(sqlite_error(exc) or StoreError(""))
            raise kind(f"cannot open the store at {self.path}: {exc}") from exc
        except BaseException:
            self._close_connections()
            raise

    # -- the shared SQL's connections -------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[Sql]:
        with self._rsql:
            yield Sql(self._rdb, SQLITE, self._rdb.executemany)

    @contextmanager
    def _writing(self, *, exclusive: bool = True) -> Iterator[Sql]:
        with self._writer, self._sql, transaction(self._db) as db:
            yield Sql(db, SQLITE, db.executemany)
            self._announce(db, exclusive)

    # -- metadata and spaces ----------------------------------------------------------------

    @property
    def info(self) -> StoreInfo | None:
        self._refresh()  # another process may have initialised it, or re-embedded
        return self._meta.info

    def initialize(self, info: StoreInfo) -> None:
        def record(db: sqlite3.Connection) -> None:
            old = read_meta(db).info  # read under the write lock: two processes may race
            if old is not None:
                raise StoreError(f"{self.path} is already initialised for {old.model_id}")
            set_meta(db, info_meta(info, self._ann.storage))

        self._write(record)

    def spaces(self) -> dict[str, Space]:
        self._refresh()
        self._require_info()
        return dict(self._meta.spaces)

    def add_space(self, space: Space) -> None:
        check_space(space)

        def add(db: sqlite3.Connection) -> None:
            known = read_meta(db).spaces  # read under the write lock: two processes may race
            if not known:
                raise StoreError(f"{self.path} has no items yet (no model recorded)")
            if space.name in known:
                if known[space.name] != space:
                    raise ConfigError(f"space {space.name!r} exists as {known[space.name]}")
                return
            create_tables(db, space.name)
            set_meta(db, spaces_meta({**known, space.name: space}))

        self._write(add)

    def _space(self, name: str) -> SpaceIndex:
        self._refresh()
        found = self._spaces.get(name)
        if found is None:
            known = ", ".join(self._spaces) or "none"
            raise InvalidInput(f"unknown space {name!r}; known: {known}", field="space")
        return found

    def _require_info(self) -> StoreInfo:
        if self._meta.info is None:
            self._refresh()  # another process may have initialised it
        info = self._meta.info
        if info is None:
            raise StoreError(f"{self.path} has no items yet (no model recorded)")
        return info

    # -- writes -----------------------------------------------------------------------------

    def upsert(self, entries: Sequence[Entry]) -> None:
        text = self._require_info().text
        catalog.check_entries(text, entries)
        if entries:
            own: dict[str, Written] = {}  # the rows written, for the sync not to read back
            self._write(lambda db: catalog.upsert(db, self._indexes(db), entries, own), own)

    def put_vectors(self, space: str, vectors: Mapping[str, Vector]) -> None:
        target = self._space(space)
        if space == TEXT:
            raise InvalidInput("text vectors come with their items (upsert)", field="space")
        rows = check_vectors(target.space, vectors)
        self._write(lambda db: catalog.put_vectors(db, target, rows))

    def drop_vectors(self, space: str, ids: Sequence[str]) -> None:
        target = self._space(space)
        self._write(lambda db: catalog.drop_vectors(db, target, ids))

    def delete(self, ids: Sequence[str]) -> int:
        return self._write(lambda db: catalog.delete(db, self._indexes(db), ids))

    def replace_all(self, info: StoreInfo, entries: Sequence[Entry]) -> None:
        def replace(db: sqlite3.Connection) -> None:
            catalog.replace_text(db, entries)
            generation = read_meta(db).generation(TEXT) + 1
            set_meta(db, {**info_meta(info), "generation": str(generation)})

        self._write(replace)

    def _write(
        self, change: Callable[[sqlite3.Connection], T], own: Mapping[str, Written] | None = None
    ) -> T:
        """One transaction of catalog changes, then every index catches up (taking the rows
        `own`, which `change` wrote, as they are)."""
        with self._writer:
            with self._sql, transaction(self._db) as db:
                result = change(db)
                count_catalog_write(db)  # the others' next `_refresh` catches up
                self._announce(db, True)
            with self._rw.write():
                self._sync(own=own)
        return result

    def _indexes(self, db: sqlite3.Connection) -> list[SpaceIndex]:
        """An index (for its tables) of each space the open transaction sees, a new one too."""
        known = self._spaces
        return [
            i
            if (i := known.get(name)) is not None and i.space == space
            else SpaceIndex(space, self._ann)  # its tables are all a write needs
            for name, space in read_meta(db).spaces.items()
        ] + self._shadow_index(db)

    # -- reads ------------------------------------------------------------------------------

    def get(self, ids: Sequence[str]) -> list[Item]:
        found = {r[0]: stored_item(json.loads(r[1])) for r in self._by_id(ids, "record")}
        return [found[i] for i in ids if i in found]

    def titles(self, ids: Sequence[str]) -> dict[str, str]:
        text = self._space(TEXT)
        with self._rw.read():
            return {i: text.titles[label] for i, label in text.labels(ids).items()}

    def hashes(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        return {r[0]: (r[1], r[2]) for r in self._by_id(ids, "content_hash, record_hash")}

    def _by_id(self, ids: Sequence[str], columns: str) -> list[Any]:  # any order
        with self._rsql:
            return catalog.rows_in(self._rdb, f"SELECT id, {columns} FROM items WHERE id", ids)

    def all_ids(self) -> list[str]:
        with self._rsql:
            return [r[0] for r in self._rdb.execute("SELECT id FROM items ORDER BY id")]

    def vectors(self, ids: Sequence[str], *, space: str = TEXT) -> dict[str, Vector]:
        index = self._space(space)
        with self._rw.read():
            return index.vectors(ids)

    def matching(self, ids: Sequence[str], where: Mapping[str, Any] | None) -> list[str]:
        node = parse_where(where)
        text = self._space(TEXT)
        with self._rw.read():
            labels = text.labels(ids)
            if node is None:
                return [i for i in ids if i in labels]
            mask = text.mask(node)
            return [i for i in ids if i in labels and mask[labels[i]]]

    def count(self, where: Mapping[str, Any] | None = None) -> int:
        node = parse_where(where)
        self._refresh()  # once: `info` and `_space` would each look again
        if self._meta.info is None:
            return 0
        text = self._spaces[TEXT]
        with self._rw.read():
            if node is None:
                return text.index.live_count()
            return int((text.mask(node) & text.index.alive).sum())

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
        index = self._space(space)
        vector = check_query(index.space, vector, n)
        with self._rw.read():
            mask = None if node is None else index.mask(node)
            return [Hit(i, s) for i, s in index.search(vector, n, mask, exclude)]

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
        node = parse_where(where)
        self._count_popularity()  # the events recorded since it last counted
        self._refresh()  # once: `info` and `_space` would each look again
        if self._meta.info is None:
            return []
        text = self._spaces[TEXT]
        with self._rw.read():
            keep = text.index.alive.copy()
            if node is not None:
                keep &= text.mask(node)
            keep[list(text.labels(exclude).values())] = False
            with self._rsql:
                return catalog.popular(self._rdb, text, keep, n, trending, newest)

    def stats(self) -> dict[str, Any]:
        info = self.info  # caught up with other processes first
        with self._rsql:
            counts = catalog.counts(self._rdb)
        with self._rw.read():
            spaces = {n: catalog.space_stats(i) for n, i in self._spaces.items()}
        return catalog.stats(self.path, schema.SCHEMA_VERSION, counts, info, spaces)

    # -- the in-memory indexes --------------------------------------------------------------

    def _refresh(self) -> None:
        """Catch up with what other processes committed since we last looked (a new model too)."""
        with self._rsql:  # the reading connection: a writer's open transaction never blocks it
            version, writes = versions(self._rdb)
            if version == self._data_version:
                return
        if writes != self._catalog_writes:  # else only events, profiles and such: no catch-up
            with self._rw.write():
                self._sync()
        self._data_version = version

    def _sync(self, *, load: bool = False, own: Mapping[str, Written] | None = None) -> None:
        """Read the metadata, then bring every space's index up to the committed rows (caller
        holds the write lock); with `load`, start from each space's snapshot."""
        with self._rsql:
            self._catalog_writes = catalog_writes(self._rdb)  # before the rows it stands for
            self._meta = meta = read_meta(self._rdb)
            self._ann = meta.ann(self._ann)  # how a store keeps vectors is fixed at creation
        if self._details.generation != meta.generation(TEXT):  # a re-embed renumbered them
            self._details = Details(meta.generation(TEXT))
        own = own or {}
        shadow = self._sync_shadow(meta)  # first: a swapped shadow is the text space's now
        for name, space in meta.spaces.items():
            index = self._spaces.get(name)
            if index is None or index.space != space:  # new, or a new model (replace_all)
                index = self._spaces[name] = SpaceIndex(space, self._ann)
            self._catch_up(name, index, meta.generation(name), load, own.get(name))
        if shadow is not None:
            self._catch_up(SHADOW, shadow, meta.generation(SHADOW), load, own.get(SHADOW))

    def _catch_up(
        self, name: str, index: SpaceIndex, generation: int, load: bool, own: Written | None
    ) -> None:
        """Bring one index up to the committed rows (from its snapshot with `load`)."""
        if load:
            index.load(self._snapshot_dir(name), generation)
        with self._rsql:
            index.sync(self._rdb, generation, own)
        if load:
            index.calibrate_if_grown()

    def _snapshot_dir(self, space: str) -> Path:
        return self.path / ("index" if space == TEXT else f"index-{space}")

    def save_snapshot(self) -> None:
        """Write each space's index so the next open need not rebuild it."""
        indexes = {**self._spaces, **({SHADOW: self._shadow} if self._shadow else {})}
        with self._rw.write():
            for space in indexes.values():
                space.calibrate_if_grown(saving=True)
        with self._rw.read():
            for name, space in indexes.items():
                space.save(self._snapshot_dir(name))

    def close(self) -> None:
        try:
            if (presence := self.__dict__.get("_presence")) is None or presence.current():
                self.save_snapshot()  # never into a folder made since (a tenant made again)
        finally:
            self._close_connections()

    def _close_connections(self) -> None:
        # Each under its statement lock: closed mid-statement (a forget's checkpoint) crashes.
        self._unshare()  # first: the listener's thread ends before the store's connections
        locks = {"_rdb": self.__dict__.get("_rsql"), "_db": self.__dict__.get("_sql")}
        for name in ("_rdb", "_db", "_presence"):  # the lock last
            with locks.get(name) or nullcontext():
                connection = self.__dict__.pop(name, None)
                if connection is not None:
                    connection.close()


def _check_utf8(path: Path) -> None:
    """ConfigError unless `path` is UTF-8 (a name of other bytes reaches Python with lone
    surrogates, which faiss cannot take: the index could never be saved)."""
    try:
        str(path).encode("utf-8")  # as given: a relative one never holds the cwd's bytes
    except UnicodeEncodeError:
        shown = str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise ConfigError(
            f"data location {shown}: its path is not UTF-8, which the index files need; "
            "rename the folder"
        ) from None
