"""Tracking: shown lists, and the reports read from them (CTR, activity)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from likewise.store.sql.forget import NO_MARK, user_key
from likewise.store.sql.query import Sql, marks
from likewise.tracking.impressions import Impression
from likewise.tracking.report import Activity, RateRow

__all__ = ["activity", "log_impressions", "rate_rows", "shown"]


def log_impressions(db: Sql, impressions: Sequence[Impression]) -> None:
    """Store shown lists, except those begun before their user was forgotten (another
    process may write its queue, or finish a list, after the forget; the caller holds the
    lock that orders this with a forget, see `store.sql.forget`)."""
    db.executemany(
        "INSERT INTO impressions(id, user_id, strategy, items, context, at, ms) "
        "SELECT {p}, {p}, {p}, {p}, {p}, {p}, {p} WHERE NOT EXISTS (SELECT 1 FROM forgotten "
        "WHERE user_key = {p} AND seq > {p}) ON CONFLICT(id) DO NOTHING",
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
                NO_MARK if i.mark is None else i.mark,
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
