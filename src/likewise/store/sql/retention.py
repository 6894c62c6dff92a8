"""Returning users and engagement time, read from the event log and the impressions.

Each report is one grouped query per part, written once for both backends: the event log is
read once into each user's distinct active UTC days, and every cohort's day-N counts come out
of that in the same pass. Definitions are in `likewise.tracking.retention`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from likewise.store.sql.query import Sql
from likewise.tracking.retention import DAY, CohortRow, EngagementRow, Returns, day_name

__all__ = ["SqlRetention", "engagement", "retention"]

# The UTC day number of an epoch-seconds column, rounded down (before 1970 too): SQLite's
# CAST truncates towards zero, and its FLOOR needs a build option; PostgreSQL's CAST rounds.
_DAY = {
    "sqlite": "(CAST({col} / 86400 AS INTEGER) - ({col} < CAST({col} / 86400 AS INTEGER) * 86400))",
    "postgres": "CAST(FLOOR({col} / 86400) AS BIGINT)",
}
# The Monday that starts the ISO week of day number {col} (1970-01-01 was a Thursday).
_WEEK = "({col} - ((({col} + 3) % 7) + 7) % 7)"


def _day(db: Sql, col: str) -> str:
    return _DAY[db.dialect.name].format(col=col)


def _counts(days: Sequence[int], first: str, today: int) -> tuple[str, list[int]]:
    """Per day N: members whose day N ended before `today`, and those of them who came back;
    `r{k}` is the per-user flag of the k-th day."""
    parts: list[str] = []
    params: list[int] = []
    for k, n in enumerate(days):
        ended = f"{first} + {{p}} < {{p}}"
        parts.append(f"SUM(CASE WHEN {ended} THEN 1 ELSE 0 END)")
        parts.append(f"SUM(CASE WHEN {ended} THEN r{k} ELSE 0 END)")
        params += [n, today, n, today]
    return ", ".join(parts), params


def _flags(days: Sequence[int], day: str, first: str) -> tuple[str, list[int]]:
    flags = [
        f"MAX(CASE WHEN {day} = {first} + {{p}} THEN 1 ELSE 0 END) AS r{k}"
        for k in range(len(days))
    ]
    return ", ".join(flags), list(days)


def _returns(days: Sequence[int], counts: Sequence[Any]) -> tuple[Returns, ...]:
    return tuple(
        Returns(n, int(counts[2 * k] or 0), int(counts[2 * k + 1] or 0)) for k, n in enumerate(days)
    )


def retention(
    db: Sql, by: str, since_day: int, until: float, days: Sequence[int]
) -> list[CohortRow]:
    """Cohorts of users first seen from day `since_day` on, by day or by week, with their
    day-N returns as of `until` (events from `until` on are not read)."""
    today = int(until // DAY)
    flags, flag_params = _flags(days, "d", "f")
    counts, count_params = _counts(days, "f", today)
    cohort = "f" if by == "day" else _WEEK.format(col="f")
    rows = db.execute(
        f"WITH active AS (SELECT user_id, {_day(db, 'ts')} AS d FROM events WHERE ts < {{p}} "
        "GROUP BY 1, 2), "
        "seen AS (SELECT user_id, d, MIN(d) OVER (PARTITION BY user_id) AS f FROM active), "
        f"members AS (SELECT user_id, f, {flags} FROM seen GROUP BY user_id, f) "
        f"SELECT {cohort} AS c, COUNT(*), {counts} FROM members WHERE f >= {{p}} "
        "GROUP BY c ORDER BY c",
        [until, *flag_params, *count_params, since_day],
    ).fetchall()
    return [CohortRow(day_name(int(c)), int(n), _returns(days, rest)) for c, n, *rest in rows]


def engagement(db: Sql, since: float, until: float, days: Sequence[int]) -> list[EngagementRow]:
    """Per impression strategy: lists shown in [since, until), their users and attributed
    dwell; and the day-N returns of the users whose first list (ever, before `until`) was of
    that strategy and was shown from the day of `since` on.

    The dwell of every list is summed in one pass over the events, so the lists are read in
    one pass too: `+i.at` keeps SQLite from walking `impressions_at` and looking up each row
    (twice as slow at 200k lists, measured with bench/retention.py)."""
    shown = db.execute(
        "SELECT i.strategy, COUNT(*), COUNT(DISTINCT i.user_id), COALESCE(SUM(w.n), 0), "
        "COALESCE(SUM(w.seconds), 0) FROM impressions i LEFT JOIN ("
        "SELECT recommendation_id AS rid, COUNT(*) AS n, SUM(COALESCE(value, 0)) AS seconds "
        "FROM events WHERE type = 'dwell' AND recommendation_id IS NOT NULL "
        "GROUP BY recommendation_id) w ON w.rid = i.id "
        "WHERE +i.at >= {p} AND +i.at < {p} GROUP BY i.strategy",
        [since, until],
    ).fetchall()
    today = int(until // DAY)
    flags, flag_params = _flags(days, "a.d", "m.f")
    counts, count_params = _counts(days, "f", today)
    first = db.execute(
        "WITH ranked AS (SELECT user_id, strategy, at, ROW_NUMBER() OVER "
        "(PARTITION BY user_id ORDER BY at, id) AS k FROM impressions WHERE at < {p}), "
        f"firsts AS (SELECT user_id, strategy AS g, {_day(db, 'at')} AS f FROM ranked "
        "WHERE k = 1), "
        f"active AS (SELECT user_id, {_day(db, 'ts')} AS d FROM events WHERE ts < {{p}} "
        "GROUP BY 1, 2), "
        f"members AS (SELECT m.user_id, m.g, m.f, {flags} FROM firsts m LEFT JOIN active a "
        "ON a.user_id = m.user_id AND a.d > m.f GROUP BY m.user_id, m.g, m.f) "
        f"SELECT g, COUNT(*), {counts} FROM members WHERE f >= {{p}} GROUP BY g",
        [until, until, *flag_params, *count_params, int(since // DAY)],
    ).fetchall()
    returns = {str(g): (int(n), _returns(days, rest)) for g, n, *rest in first}
    none = (0, tuple(Returns(n, 0, 0) for n in days))
    rows = [
        EngagementRow(str(g), int(i), int(u), int(n), float(s), *returns.get(str(g), none))
        for g, i, u, n, s in shown
    ]
    shown_groups = {r.group for r in rows}
    rows += [
        EngagementRow(g, 0, 0, 0, 0.0, *found)
        for g, found in returns.items()
        if g not in shown_groups
    ]
    return sorted(rows, key=lambda r: r.group)


class SqlRetention:
    """The retention half of the shared SQL, over a backend's `_reading()`."""

    def _reading(self) -> AbstractContextManager[Sql]:
        raise NotImplementedError

    def retention_rows(
        self, by: str, since_day: int, until: float, days: Sequence[int]
    ) -> list[CohortRow]:
        with self._reading() as db:
            return retention(db, by, since_day, until, days)

    def engagement_rows(
        self, since: float, until: float, days: Sequence[int]
    ) -> list[EngagementRow]:
        with self._reading() as db:
            return engagement(db, since, until, days)
