"""Tracking: shown lists, and the reports read from them (CTR, activity)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence

from likewise.store.sql.query import Sql, marks
from likewise.tracking.impressions import Impression
from likewise.tracking.report import Activity, RateRow

__all__ = [
    "FORGET_HORIZON",
    "activity",
    "forgotten_mark",
    "log_impressions",
    "rate_rows",
    "shown",
    "tombstone",
]

# How long a forgotten user's tombstone is kept: longer than any worker holds an impression
# in its queue (a fraction of a second, or the time its database was unreachable).
FORGET_HORIZON = 3600.0


def user_key(user_id: str) -> str:
    """What a tombstone keeps of a forgotten user: a digest, never the id itself."""
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()


def tombstone(db: Sql, user_id: str) -> None:
    """Mark the user forgotten now, so an impression of theirs that another worker made
    before the forget and writes after it is dropped (see :func:`log_impressions`)."""
    now = time.time()
    db.execute("DELETE FROM forgotten WHERE at < {p}", (now - FORGET_HORIZON,))
    db.execute(
        "INSERT INTO forgotten(user_key, at) VALUES ({p}, {p}) "
        "ON CONFLICT(user_key) DO UPDATE SET at = excluded.at",
        (user_key(user_id), now),
    )


def forgotten_mark(db: Sql) -> tuple[int, float]:
    """Changes when a user is forgotten by any process: their cached lists must go."""
    row = db.execute("SELECT COUNT(*), COALESCE(MAX(at), 0) FROM forgotten").fetchone()
    return int(row[0]), float(row[1])


def log_impressions(db: Sql, impressions: Sequence[Impression]) -> None:
    """Store shown lists, except those made for a user before they were forgotten (a second
    worker may write its queue after the forget; the caller holds the write lock, so the
    forget and this check cannot interleave)."""
    db.executemany(
        "INSERT INTO impressions(id, user_id, strategy, items, context, at, ms) "
        "SELECT {p}, {p}, {p}, {p}, {p}, {p}, {p} WHERE NOT EXISTS (SELECT 1 FROM forgotten "
        "WHERE user_key = {p} AND at >= {p}) ON CONFLICT(id) DO NOTHING",
        [
            (
                i.id,
                i.user_id,
                i.strategy,
                json.dumps(list(i.items)),
                json.dumps(i.context),
                i.at,
                i.ms,
                user_key(i.user_id),
                i.at,
            )
            for i in impressions
        ],
    )


def shown(db: Sql, user_id: str, last: int) -> dict[str, int]:
    """How often each item was in the user's `last` impressions."""
    counts: dict[str, int] = {}
    rows = db.execute(
        "SELECT items FROM impressions WHERE user_id = {p} ORDER BY at DESC LIMIT {p}",
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
    day = db.dialect.day.format(col="i.at")
    group = {"strategy": "i.strategy", "day": day, "day,strategy": f"{day} || ' ' || i.strategy"}[
        group_by
    ]
    rows = db.execute(
        f"SELECT g, COUNT(*), SUM(clicked), SUM(converted), AVG(dwell) FROM ("
        f"SELECT {group} AS g, "
        f"CASE WHEN EXISTS({attributed} ({marks(len(clicks))})) THEN 1 ELSE 0 END AS clicked, "
        f"CASE WHEN EXISTS({attributed} ({marks(len(conversions))})) THEN 1 ELSE 0 END "
        "AS converted, (SELECT AVG(e.value) FROM events e WHERE e.recommendation_id = i.id "
        "AND e.type = 'dwell') AS dwell FROM impressions i WHERE i.at >= {p}) AS rated "
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
    day = db.dialect.day.format(col="ts")
    events = db.execute(
        f"SELECT {day} AS d, type, COUNT(*) FROM events WHERE ts >= {{p}} GROUP BY d, type "
        "ORDER BY d, type",
        [since],
    ).fetchall()
    latency: dict[str, list[float]] = {}
    items_shown: set[str] = set()
    for strategy, ms, items in db.execute(
        "SELECT strategy, ms, items FROM impressions WHERE at >= {p}", [since]
    ):
        if ms is not None:
            latency.setdefault(strategy, []).append(float(ms))
        items_shown.update(json.loads(items))
    # A day the database cannot name (an event stored before times were bounded) is left out.
    rows = [(d, t, int(n)) for d, t, n in events if d is not None]
    return Activity(rows, latency, len(items_shown))
