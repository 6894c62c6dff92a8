"""How the shared SQL reaches each driver: one query text, the driver's own placeholders.

Queries are written once with `{p}` where a parameter goes. A :class:`Dialect` renders them for
its driver (`?` for sqlite3, `%s` for psycopg, whose literal `%` it escapes) once per query text,
so nothing else in a query is rewritten: jsonb's `?` operator or a `'%'` literal stay as they
are. The dialect also says how a UTC day is spelled and how a vector is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from likewise.store.base import Vector

__all__ = ["Connection", "Dialect", "Sql", "marks"]


class Connection(Protocol):
    """What the shared SQL needs of a DB-API connection (sqlite3's or psycopg's)."""

    def execute(self, query: Any, params: Any = ..., /) -> Any: ...


@dataclass(frozen=True)
class Dialect:
    name: str
    placeholder: str  # the driver's parameter marker
    day: str  # the UTC day, as YYYY-MM-DD, of the epoch-seconds column put in at {col}
    encode: Callable[[Vector | None], Any]  # a vector as the database stores it
    decode: Callable[[Any], Vector | None]
    escape_percent: bool = False  # psycopg reads `%` as the start of a placeholder
    # SQL that moves the write-ahead log into the database file and empties it (SQLite: its
    # WAL keeps copies of deleted rows until then); "" when the database needs none. Its row
    # starts with 1 when a reader kept it from finishing. `wait_briefly` and `wait_again`
    # bound how long it waits for readers, then restore the usual wait.
    checkpoint: str = ""
    wait_briefly: str = ""
    wait_again: str = ""
    # The lock a forget holds while it deletes the user's impressions and leaves their
    # tombstone, and the shared one each impression write holds (see `store.sql.forget`);
    # "" where writes are serialised anyway (SQLite).
    forget_lock: str = ""
    forget_lock_shared: str = ""
    _rendered: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def render(self, query: str) -> str:
        """`query` with each `{p}` as this driver's placeholder (cached per text)."""
        done = self._rendered.get(query)
        if done is None:
            text = query.replace("%", "%%") if self.escape_percent else query
            done = self._rendered[query] = text.replace("{p}", self.placeholder)
        return done


class Sql:
    """A connection inside one transaction (or a read), speaking its dialect."""

    def __init__(
        self, conn: Connection, dialect: Dialect, many: Callable[[str, list[Any]], object]
    ) -> None:
        self.conn = conn
        self.dialect = dialect
        self._many = many

    def execute(self, query: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(self.dialect.render(query), list(params))

    def executemany(self, query: str, rows: Any) -> None:
        rows = list(rows)
        if rows:
            self._many(self.dialect.render(query), rows)

    def rows_in(self, query: str, keys: Sequence[str], before: Sequence[Any] = ()) -> list[Any]:
        """Rows of `query IN (keys)` (after the parameters `before`), in chunks that stay
        under SQLite's variable limit."""
        rows: list[Any] = []
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            query_in = f"{query} IN ({marks(len(chunk))})"
            rows += self.execute(query_in, [*before, *chunk]).fetchall()
        return rows


def marks(count: int) -> str:
    """`{p}, {p}, ...` for `count` parameters (NULL for none: `x IN (NULL)` is never true)."""
    return ", ".join(["{p}"] * count) or "NULL"
