"""Events, profiles, snapshots and popularity: the SQL behind both stores.

Each function works inside the caller's transaction, so an event and the profile update it
causes are committed together or not at all. The SQL is written once, in SQLite's `?` style;
PostgreSQL runs it through an adapter (`likewise.store.postgres`) that carries a `dialect`:
how a day is spelled and how vectors are stored (BLOBs here, pgvector `vector` there).
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from likewise.events.model import Event
from likewise.profiles.state import ProfileState, Snapshot
from likewise.store.base import ProfileUpdate, Vector
from likewise.tracking.impressions import Impression
from likewise.tracking.report import Activity, RateRow

__all__ = [
    "SCHEMA",
    "SQLITE",
    "TABLES",
    "Dialect",
    "Sql",
    "activity",
    "dump_rows",
    "forget_user",
    "iter_events",
    "load_profile",
    "load_rows",
    "log_impressions",
    "rate_rows",
    "record",
    "rows_in",
    "save_profiles",
    "seen",
    "shown",
    "snapshots",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT UNIQUE, user_id TEXT NOT NULL,
    item_id TEXT NOT NULL, type TEXT NOT NULL, value REAL, context TEXT NOT NULL,
    ts REAL NOT NULL, recommendation_id TEXT, signal REAL NOT NULL);
CREATE INDEX IF NOT EXISTS events_user ON events(user_id, item_id);
CREATE TABLE IF NOT EXISTS profiles (
    user_id TEXT PRIMARY KEY, state TEXT NOT NULL, interest BLOB, ema BLOB, seed BLOB);
CREATE TABLE IF NOT EXISTS profile_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, at REAL NOT NULL,
    vector BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS profile_history_user ON profile_history(user_id, seq);
CREATE TABLE IF NOT EXISTS popularity (
    item_id TEXT PRIMARY KEY, score REAL NOT NULL, events INTEGER NOT NULL,
    trend REAL NOT NULL DEFAULT -1e300);
CREATE INDEX IF NOT EXISTS popularity_rank ON popularity(score DESC, item_id);
CREATE INDEX IF NOT EXISTS events_recommendation ON events(recommendation_id)
    WHERE recommendation_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS impressions (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, strategy TEXT NOT NULL, items TEXT NOT NULL,
    context TEXT NOT NULL, at REAL NOT NULL, ms REAL);
CREATE INDEX IF NOT EXISTS impressions_at ON impressions(at);
CREATE INDEX IF NOT EXISTS impressions_user ON impressions(user_id);
CREATE TABLE IF NOT EXISTS blobs (name TEXT PRIMARY KEY, data BLOB NOT NULL, at REAL NOT NULL);
"""
# Trending: a signal s at time t counts s * 2 ** ((t - now) / HALF_LIFE) now. The column keeps
# trend = log2(sum of s * 2 ** (t / HALF_LIFE)), which orders items the same way at any `now`
# and is updated with one logaddexp2 per event: no rescans, no overflow.
TREND_HALF_LIFE = 7 * 86_400.0
MIGRATIONS = {
    "popularity": {"trend": "REAL NOT NULL DEFAULT -1e300"},
    "impressions": {"ms": "REAL"},
}


class Sql(Protocol):
    """What the functions below need of a connection (sqlite3's, or the PostgreSQL adapter)."""

    def execute(self, query: str, params: Sequence[Any] = ..., /) -> Any: ...

    def executemany(self, query: str, rows: Any, /) -> Any: ...


@dataclass(frozen=True)
class Dialect:
    day: str  # the UTC day, as YYYY-MM-DD, of the epoch-seconds column put in at {}
    encode: Callable[[Vector | None], Any]  # a vector as the database stores it
    decode: Callable[[Any], Vector | None]


def dialect_of(db: Sql) -> Dialect:
    found: Dialect = getattr(db, "dialect", SQLITE)
    return found


def record(
    db: Sql,
    events: Sequence[Event],
    signals: Sequence[float],
    update: ProfileUpdate,
) -> list[bool]:
    """Append the events whose `event_id` is new and update their users' profiles."""
    given = [e.event_id for e in events if e.event_id is not None]
    known = {row[0] for row in rows_in(db, "SELECT event_id FROM events WHERE event_id", given)}
    accepted: list[bool] = []
    rows: list[tuple[Any, ...]] = []
    popularity: dict[str, list[float]] = {}
    by_user: dict[str, list[tuple[Event, float]]] = {}
    for event, signal in zip(events, signals, strict=True):
        if event.event_id is not None:
            if event.event_id in known:
                accepted.append(False)
                continue
            known.add(event.event_id)
        accepted.append(True)
        rows.append(
            (
                event.event_id,
                event.user_id,
                event.item_id,
                event.type,
                event.value,
                json.dumps(event.context, ensure_ascii=False),
                event.timestamp,
                event.recommendation_id,
                signal,
            )
        )
        by_user.setdefault(event.user_id, []).append((event, signal))
        if signal > 0:
            score = popularity.setdefault(event.item_id, [0.0, 0, -1e300])
            score[0] += signal
            score[1] += 1
            score[2] = float(np.logaddexp2(score[2], _trend(signal, event.timestamp)))
    db.executemany(
        "INSERT INTO events(event_id, user_id, item_id, type, value, context, ts, "
        "recommendation_id, signal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    old = dict(rows_in(db, "SELECT item_id, trend FROM popularity WHERE item_id", list(popularity)))
    db.executemany(
        "INSERT INTO popularity(item_id, score, events, trend) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(item_id) DO UPDATE SET score = popularity.score + excluded.score, "
        "events = popularity.events + excluded.events, trend = excluded.trend",
        [
            (item, score, int(count), float(np.logaddexp2(old.get(item, -1e300), trend)))
            for item, (score, count, trend) in popularity.items()
        ],
    )
    stored = load_profiles(db, list(by_user))
    save_profiles(
        db,
        [update(stored.get(user) or ProfileState(user), todo) for user, todo in by_user.items()],
    )
    return accepted


def load_profile(db: Sql, user_id: str) -> ProfileState | None:
    return load_profiles(db, [user_id]).get(user_id)


def load_profiles(db: Sql, user_ids: Sequence[str]) -> dict[str, ProfileState]:
    rows = rows_in(
        db, "SELECT user_id, state, interest, ema, seed FROM profiles WHERE user_id", user_ids
    )
    vector = dialect_of(db).decode
    return {
        user: ProfileState(
            user, interest=vector(interest), ema=vector(ema), seed=vector(seed), **json.loads(st)
        )
        for user, st, interest, ema, seed in rows
    }


def save_profiles(db: Sql, profiles: Sequence[tuple[ProfileState, Sequence[Snapshot]]]) -> None:
    blob = dialect_of(db).encode
    db.executemany(
        "INSERT INTO profiles(user_id, state, interest, ema, seed) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(user_id) DO UPDATE SET state = excluded.state, "
        "interest = excluded.interest, ema = excluded.ema, seed = excluded.seed",
        [
            (
                state.user_id,
                json.dumps(_scalars(state)),
                blob(state.interest),
                blob(state.ema),
                blob(state.seed),
            )
            for state, _ in profiles
        ],
    )
    db.executemany(
        "INSERT INTO profile_history(user_id, at, vector) VALUES (?, ?, ?)",
        [
            (state.user_id, snap.at, blob(snap.vector))
            for state, taken in profiles
            for snap in taken
        ],
    )


def log_impressions(db: Sql, impressions: Sequence[Impression]) -> None:
    db.executemany(
        "INSERT INTO impressions(id, user_id, strategy, items, context, at, ms) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
        [
            (
                i.id,
                i.user_id,
                i.strategy,
                json.dumps(list(i.items)),
                json.dumps(i.context),
                i.at,
                i.ms,
            )
            for i in impressions
        ],
    )


def shown(db: Sql, user_id: str, last: int) -> dict[str, int]:
    """How often each item was in the user's `last` impressions."""
    counts: dict[str, int] = {}
    rows = db.execute(
        "SELECT items FROM impressions WHERE user_id = ? ORDER BY at DESC LIMIT ?",
        (user_id, last),
    )
    for (items,) in rows:
        for item in json.loads(items):
            counts[item] = counts.get(item, 0) + 1
    return counts


def rate_rows(
    db: Sql,
    group_by: str,
    since: float,
    clicks: Sequence[str],
    conversions: Sequence[str],
) -> list[RateRow]:
    """Per group: lists shown since `since`, how many got a click / a conversion event that
    names them, and the mean dwell of the dwell events that name them."""
    attributed = "SELECT 1 FROM events e WHERE e.recommendation_id = i.id AND e.type IN"
    day = dialect_of(db).day.format("i.at")
    group = {"strategy": "i.strategy", "day": day, "day,strategy": f"{day} || ' ' || i.strategy"}[
        group_by
    ]
    rows = db.execute(
        f"SELECT g, COUNT(*), SUM(clicked), SUM(converted), AVG(dwell) FROM ("
        f"SELECT {group} AS g, "
        f"CASE WHEN EXISTS({attributed} ({_marks(clicks)})) THEN 1 ELSE 0 END AS clicked, "
        f"CASE WHEN EXISTS({attributed} ({_marks(conversions)})) THEN 1 ELSE 0 END AS converted, "
        "(SELECT AVG(e.value) FROM events e WHERE e.recommendation_id = i.id "
        "AND e.type = 'dwell') AS dwell FROM impressions i WHERE i.at >= ?) "
        "GROUP BY g ORDER BY g",
        [*clicks, *conversions, since],
    ).fetchall()
    return [
        RateRow(g, int(n), int(c), int(v), None if d is None else float(d))
        for g, n, c, v, d in rows
    ]


def activity(db: Sql, since: float) -> Activity:
    """Events per UTC day and type, the latency of each list shown and how many distinct
    items were shown, all since `since`."""
    day = dialect_of(db).day.format("ts")
    events = db.execute(
        f"SELECT {day} AS d, type, COUNT(*) FROM events WHERE ts >= ? GROUP BY d, type "
        "ORDER BY d, type",
        [since],
    ).fetchall()
    latency: dict[str, list[float]] = {}
    shown: set[str] = set()
    for strategy, ms, items in db.execute(
        "SELECT strategy, ms, items FROM impressions WHERE at >= ?", [since]
    ):
        if ms is not None:
            latency.setdefault(strategy, []).append(float(ms))
        shown.update(json.loads(items))
    return Activity([(d, t, int(n)) for d, t, n in events], latency, len(shown))


def _trend(signal: float, at: float) -> float:
    return math.log2(signal) + at / TREND_HALF_LIFE


def trend_score(trend: float, now: float) -> float:
    """The decayed weight today of the events summed in a `trend` key."""
    return float(2.0 ** min(trend - now / TREND_HALF_LIFE, 1000.0))


def migrate(db: sqlite3.Connection) -> None:
    """Add the columns a store created by an older version lacks."""
    for table, columns in MIGRATIONS.items():
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
    db.execute("CREATE INDEX IF NOT EXISTS popularity_trend ON popularity(trend DESC, item_id)")


def _marks(values: Sequence[str]) -> str:
    return ",".join("?" * len(values)) or "NULL"


def forget_user(db: Sql, user_id: str) -> dict[str, int]:
    """Delete a user's events, profile, snapshots and impressions; their share of item
    popularity goes with them."""
    gone = db.execute(
        "SELECT item_id, SUM(signal), COUNT(*) FROM events WHERE user_id = ? AND signal > 0 "
        "GROUP BY item_id",
        (user_id,),
    ).fetchall()
    db.executemany(
        "UPDATE popularity SET score = score - ?, events = events - ? WHERE item_id = ?",
        [(score, count, item) for item, score, count in gone],
    )
    db.execute("DELETE FROM popularity WHERE events <= 0")
    for item, _, _ in gone:  # a log-sum cannot be subtracted from: sum the rest again
        rest = db.execute(
            "SELECT signal, ts FROM events WHERE item_id = ? AND signal > 0 AND user_id != ?",
            (item, user_id),
        ).fetchall()
        trend = float(np.logaddexp2.reduce([_trend(s, t) for s, t in rest] or [-1e300]))
        db.execute("UPDATE popularity SET trend = ? WHERE item_id = ?", (trend, item))
    counts = {}
    for table in ("events", "profiles", "profile_history", "impressions"):
        counts[table] = db.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,)).rowcount
    return counts


def _scalars(state: ProfileState) -> dict[str, Any]:
    return {
        "recent": state.recent,
        "events": state.events,
        "positives": state.positives,
        "negatives": state.negatives,
        "since_snapshot": state.since_snapshot,
        "last_snapshot_at": state.last_snapshot_at,
        "updated_at": state.updated_at,
    }


def rows_in(db: Sql, query: str, keys: Sequence[str]) -> list[Any]:
    """Rows of `query IN (keys)`, in chunks that stay under SQLite's variable limit."""
    rows: list[Any] = []
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows += db.execute(f"{query} IN ({','.join('?' * len(chunk))})", chunk).fetchall()
    return rows


def snapshots(db: Sql, user_id: str, limit: int) -> list[Snapshot]:
    rows = db.execute(
        "SELECT at, vector FROM profile_history WHERE user_id = ? ORDER BY seq DESC LIMIT ?",
        (user_id, limit),
    ).fetchall()
    vector = dialect_of(db).decode
    return [Snapshot(at, _some(vector(blob))) for at, blob in rows[::-1]]


def seen(db: Sql, user_id: str) -> list[str]:
    rows = db.execute("SELECT DISTINCT item_id FROM events WHERE user_id = ?", (user_id,))
    return [r[0] for r in rows]


def iter_events(db: Sql, batch: int) -> Iterator[list[tuple[Event, float]]]:
    """The whole log in the order it was appended."""
    after = 0
    while True:
        rows = db.execute(
            "SELECT seq, event_id, user_id, item_id, type, value, context, ts, "
            "recommendation_id, signal FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, batch),
        ).fetchall()
        if not rows:
            return
        yield [(_event(row), float(row[9])) for row in rows]
        after = rows[-1][0]


def _event(row: Any) -> Event:
    return Event.model_construct(
        event_id=row[1],
        user_id=row[2],
        item_id=row[3],
        type=row[4],
        value=row[5],
        context=json.loads(row[6]),
        timestamp=row[7],
        recommendation_id=row[8],
    )


def _blob(vector: Vector | None) -> bytes | None:
    return None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()


def _vector(blob: bytes | None) -> Vector | None:
    return None if blob is None else np.frombuffer(blob, dtype=np.float32).copy()


def _some(vector: Vector | None) -> Vector:
    assert vector is not None
    return vector


SQLITE = Dialect("strftime('%Y-%m-%d', {}, 'unixepoch')", _blob, _vector)


# The activity tables as `likewise copy` moves them: columns in a fixed order, the order rows
# are read in (the log's and the history's append order is kept), and which hold vectors.
TABLES: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    "events": (
        (
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
        ("user_id", "state", "interest", "ema", "seed"),
        "user_id",
        ("interest", "ema", "seed"),
    ),
    "profile_history": (("user_id", "at", "vector"), "seq", ("vector",)),
    "popularity": (("item_id", "score", "events", "trend"), "item_id", ()),
    "impressions": (("id", "user_id", "strategy", "items", "context", "at", "ms"), "id", ()),
    "blobs": (("name", "data", "at"), "name", ()),
}


def dump_rows(db: Sql, table: str, batch: int = 5_000) -> Iterator[list[tuple[Any, ...]]]:
    """Every row of an activity table (vectors as numpy arrays), a page at a time, in `TABLES`
    order (keyset paging: no page is read twice, however large the table)."""
    columns, order, vectors = TABLES[table]
    decode = dialect_of(db).decode
    at = [columns.index(c) for c in vectors]
    query = f"SELECT {order}, {', '.join(columns)} FROM {table}"
    after: Any = None
    while True:
        rows = db.execute(
            f"{query} ORDER BY {order} LIMIT ?"
            if after is None
            else f"{query} WHERE {order} > ? ORDER BY {order} LIMIT ?",
            [batch] if after is None else [after, batch],
        ).fetchall()
        if not rows:
            return
        page = []
        for row in rows:
            values = list(row[1:])
            for k in at:
                values[k] = decode(values[k])
            if table == "blobs":
                values[1] = bytes(values[1])
            page.append(tuple(values))
        yield page
        after = rows[-1][0]


def load_rows(db: Sql, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Append rows read by :func:`dump_rows` (from either store) to the same table."""
    columns, _, vectors = TABLES[table]
    encode = dialect_of(db).encode
    at = [columns.index(c) for c in vectors]
    encoded = []
    for row in rows:
        values = list(row)
        for k in at:
            values[k] = encode(values[k])
        encoded.append(tuple(values))
    db.executemany(
        f"INSERT INTO {table}({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        encoded,
    )
