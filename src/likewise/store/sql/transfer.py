"""The copy format of the activity tables (`likewise copy`): the same rows from either store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from likewise.store.sql.query import Sql, marks
from likewise.store.sql.segments import PROPERTY_TABLES

__all__ = ["TABLES", "dump_page", "load_rows"]

# The activity tables as `likewise copy` moves them: columns in a fixed order, the order rows
# are read in (the log's and the history's append order is kept), and which hold vectors.
TABLES: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    "events": (
        (
            "seq",  # kept: the marks in `folds` point into it
            "event_id",
            "user_id",
            "item_id",
            "type",
            "value",
            "context",
            "ts",
            "recommendation_id",
            "signal",
        ),
        "seq",
        (),
    ),
    "profiles": (
        ("user_id", "space", "state", "interest", "ema", "seed"),
        "user_id || ':' || space",
        ("interest", "ema", "seed"),
    ),
    "profile_history": (("user_id", "space", "at", "vector"), "seq", ("vector",)),
    "popularity": (("item_id", "score", "events", "trend"), "item_id", ()),
    "folds": (("name", "seq"), "name", ()),  # the last event popularity counted
    "impressions": (("id", "user_id", "strategy", "items", "context", "at", "ms"), "id", ()),
    "blobs": (("name", "data", "at"), "name", ()),
    **PROPERTY_TABLES,  # users' properties and the segments over them
}


def dump_page(db: Sql, table: str, after: Any, batch: int) -> tuple[list[tuple[Any, ...]], Any]:
    """Up to `batch` rows of an activity table (vectors as numpy arrays) past the key `after`
    (None: from the start), in `TABLES` order, and the key to read on from (keyset paging: no
    page is read twice, however large the table)."""
    columns, order, vectors = TABLES[table]
    decode = db.dialect.decode
    at = [columns.index(c) for c in vectors]
    query = f"SELECT {order} AS k, {', '.join(columns)} FROM {table}"
    rows = db.execute(
        f"{query} ORDER BY k LIMIT {{p}}"
        if after is None
        else f"{query} WHERE {order} > {{p}} ORDER BY k LIMIT {{p}}",
        [batch] if after is None else [after, batch],
    ).fetchall()
    page = []
    for row in rows:
        values = list(row[1:])
        for k in at:
            values[k] = decode(values[k])
        if table == "blobs":
            values[1] = bytes(values[1])
        page.append(tuple(values))
    return page, (rows[-1][0] if rows else after)


def load_rows(db: Sql, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Append rows read by :func:`dump_page` (from either store) to the same table."""
    columns, _, vectors = TABLES[table]
    encode = db.dialect.encode
    at = [columns.index(c) for c in vectors]
    encoded = []
    for row in rows:
        values = list(row)
        for k in at:
            values[k] = encode(values[k])
        encoded.append(tuple(values))
    if table == "folds":  # a new store has its own marks (nothing counted): the copied replace them
        db.executemany("DELETE FROM folds WHERE name = {p}", [(row[0],) for row in encoded])
    numbered = table == "events" and db.dialect.name == "postgres"  # `seq`: an identity
    db.executemany(
        f"INSERT INTO {table}({', '.join(columns)})"
        f"{' OVERRIDING SYSTEM VALUE' if numbered else ''} VALUES ({marks(len(columns))})",
        encoded,
    )
    if numbered:  # its numbers were given: the identity goes on from the last
        db.execute(
            "SELECT setval(pg_get_serial_sequence('events', 'seq'), "
            "(SELECT COALESCE(MAX(seq), 1) FROM events))"
        )
