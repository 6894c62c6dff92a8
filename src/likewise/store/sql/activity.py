"""Events, profiles, snapshots and popularity: the SQL both stores run.

Each function works inside the caller's transaction (or read), so an event and the profile
updates it causes are committed together or not at all. Profiles are kept per (user, space).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import orjson

from likewise.events.model import Event
from likewise.profiles.state import ProfileState, Snapshot
from likewise.store.base import ProfileUpdate, ProfileUpdates, Vector
from likewise.store.sql import forget
from likewise.store.sql.query import Sql

__all__ = [
    "FOLD_AT",
    "FOLD_LOOK",
    "TREND_HALF_LIFE",
    "events_page",
    "fold",
    "forget_user",
    "load_profiles",
    "pending",
    "record",
    "save_profiles",
    "seen",
    "snapshots",
    "trend_score",
    "user",
]

# Trending: a signal s at time t counts s * 2 ** ((t - now) / HALF_LIFE) now. The column keeps
# trend = log2(sum of s * 2 ** (t / HALF_LIFE)), which orders items the same way at any `now`
# and is updated with one logaddexp2 per event: no rescans, no overflow.
TREND_HALF_LIFE = 7 * 86_400.0
# Events a store records before it counts them into popularity while recording (see `fold`);
# events recorded one at a time look at that count every FOLD_LOOK-th event (a read less each).
FOLD_AT = 5_000
FOLD_LOOK = 64


def record(
    db: Sql,
    events: Sequence[Event],
    signals: Sequence[float],
    update: ProfileUpdate | ProfileUpdates,
    spaces: Sequence[str],
) -> list[bool]:
    """Append the events whose `event_id` is new and update their users' profiles in each
    of `spaces`."""
    given = [e.event_id for e in events if e.event_id is not None]
    one = len(events) == 1  # its insert alone says whether its `event_id` is new (below)
    query = "SELECT event_id FROM events WHERE event_id"
    known = set() if one else {row[0] for row in db.rows_in(query, given)}
    accepted: list[bool] = []
    rows: list[tuple[Any, ...]] = []
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
                _context(event.context),
                event.timestamp,
                event.recommendation_id,
                signal,
            )
        )
        by_user.setdefault(event.user_id, []).append((event, signal))
    insert = (
        "INSERT INTO events(event_id, user_id, item_id, type, value, context, ts, "
        "recommendation_id, signal) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})"
    )
    due = True  # whether to look at how many events wait for popularity's fold
    if one:
        added = db.execute(insert + " ON CONFLICT (event_id) DO NOTHING RETURNING seq", rows[0])
        (seq,) = added.fetchone() or (None,)
        if seq is None:
            return [False]  # recorded before: nothing changes
        due = seq % FOLD_LOOK == 0
    else:
        db.executemany(insert, rows)
    if due and pending(db) >= FOLD_AT:  # else the next read of popularity counts them
        fold(db)
    updated: list[tuple[ProfileState, list[Snapshot]]] = []
    for space in spaces:
        stored = load_profiles(db, list(by_user), space)
        todo = [
            (stored.get(user) or ProfileState(user, space=space), mine)
            for user, mine in by_user.items()
        ]
        if isinstance(update, ProfileUpdates):
            updated += update.many(todo)
        else:
            updated += [update(state, mine) for state, mine in todo]
    save_profiles(db, updated)
    return accepted


def pending(db: Sql) -> int:
    """How many events were recorded since popularity last counted them."""
    row = db.execute(
        "SELECT (SELECT MAX(seq) FROM events) - seq FROM folds WHERE name = 'popularity'"
    ).fetchone()
    return int(row[0] or 0) if row else 0


def fold(db: Sql) -> None:
    """Count the events recorded since the last fold into popularity (inside the caller's
    write, which holds the store's write lock: no event can commit behind the mark).

    Popularity is not written with each event: its three indexes (the item, the score and
    the trend) cost a durable event a sixth of its time (bench/events.py). A store counts
    its events when it reads popularity, and while recording once FOLD_AT are waiting, so
    a read counts few."""
    (mark,) = db.execute("SELECT seq FROM folds WHERE name = 'popularity'").fetchone()
    rows = db.execute(
        "SELECT seq, item_id, signal, ts FROM events WHERE seq > {p} ORDER BY seq", (mark,)
    ).fetchall()
    if not rows:
        return
    now = time.time()
    popularity: dict[str, list[float]] = {}
    for _, item, signal, at in rows:
        if signal > 0:
            key = _trend(signal, at, now)
            score = popularity.get(item)
            if score is None:  # the first: logaddexp2(-1e300, key) is key itself
                popularity[item] = [signal, 1, key]
            else:
                score[0] += signal
                score[1] += 1
                score[2] = float(np.logaddexp2(score[2], key))
    items = sorted(popularity)  # written in key order: neighbours share their pages
    old = dict(db.rows_in("SELECT item_id, trend FROM popularity WHERE item_id", items))
    counted = [popularity[item] for item in items]
    # One ufunc call over every item: the very values of a call per item.
    trends = np.logaddexp2([old.get(item, -1e300) for item in items], [c[2] for c in counted])
    db.executemany(
        "INSERT INTO popularity(item_id, score, events, trend) VALUES ({p}, {p}, {p}, {p}) "
        "ON CONFLICT(item_id) DO UPDATE SET score = popularity.score + excluded.score, "
        "events = popularity.events + excluded.events, trend = excluded.trend",
        [
            (item, score, int(count), trend)
            for item, (score, count, _), trend in zip(items, counted, trends.tolist(), strict=True)
        ],
    )
    db.execute("UPDATE folds SET seq = {p} WHERE name = 'popularity'", (rows[-1][0],))


def load_profiles(db: Sql, user_ids: Sequence[str], space: str) -> dict[str, ProfileState]:
    """The stored profiles in `space` of the users among `user_ids`."""
    rows = db.rows_in(
        "SELECT user_id, state, interest, ema, seed FROM profiles WHERE space = {p} AND user_id",
        user_ids,
        before=[space],
    )
    decode = db.dialect.decode
    return {u: _profile(decode, space, u, st, i, e, s) for u, st, i, e, s in rows}


def user(db: Sql, user_id: str, space: str) -> tuple[ProfileState | None, list[str], int]:
    """What a list reads of its user, in one statement: their profile in `space`, every item
    they have an event with, and the store's forget mark (`forget.forget_mark`) as of the
    same read, which is the mark their list is begun at."""
    row = db.execute(
        f"SELECT ({forget.MARK}), {_items_of(db)}, p.state, p.interest, p.ema, p.seed "
        "FROM (SELECT 1) AS one LEFT JOIN profiles AS p ON p.space = {p} AND p.user_id = {p}",
        (user_id, space, user_id),
    ).fetchone()
    mark, items, *profile = row
    state = None if profile[0] is None else _profile(db.dialect.decode, space, user_id, *profile)
    return state, _unique(db, items), forget.mark_of(mark)


def save_profiles(db: Sql, profiles: Sequence[tuple[ProfileState, Sequence[Snapshot]]]) -> None:
    blob = db.dialect.encode
    db.executemany(
        "INSERT INTO profiles(user_id, space, state, interest, ema, seed) "
        "VALUES ({p}, {p}, {p}, {p}, {p}, {p}) "
        "ON CONFLICT(user_id, space) DO UPDATE SET state = excluded.state, "
        "interest = excluded.interest, ema = excluded.ema, seed = excluded.seed",
        [
            (
                state.user_id,
                state.space,
                _encode_state(_scalars(state)),
                blob(state.interest),
                blob(state.ema),
                blob(state.seed),
            )
            for state, _ in profiles
        ],
    )
    taken = [
        (state.user_id, state.space, snap.at, blob(snap.vector))
        for state, snaps in profiles
        for snap in snaps
    ]
    if taken:  # most events take no snapshot
        db.executemany(
            "INSERT INTO profile_history(user_id, space, at, vector) VALUES ({p}, {p}, {p}, {p})",
            taken,
        )


def snapshots(db: Sql, user_id: str, limit: int, space: str) -> list[Snapshot]:
    rows = db.execute(
        "SELECT at, vector FROM profile_history WHERE user_id = {p} AND space = {p} "
        "ORDER BY seq DESC LIMIT {p}",
        (user_id, space, limit),
    ).fetchall()
    vector = db.dialect.decode
    return [Snapshot(at, _some(vector(blob))) for at, blob in rows[::-1]]


def seen(db: Sql, user_id: str) -> list[str]:
    (items,) = db.execute(f"SELECT {_items_of(db)}", (user_id,)).fetchone()
    return _unique(db, items)


def _items_of(db: Sql) -> str:
    """A subquery: the items of the user at its `{p}`, in one JSON array (with repeats: a
    dict makes them unique faster than SQL's DISTINCT, a temporary b-tree per read in SQLite)."""
    agg = "json_agg" if db.dialect.name == "postgres" else "json_group_array"
    return f"(SELECT {agg}(item_id) FROM events WHERE user_id = {{p}})"


def _unique(db: Sql, items: Any) -> list[str]:
    """The items `_items_of` read, each once, first seen first (psycopg parses json_agg's)."""
    parsed = (items or []) if db.dialect.name == "postgres" else orjson.loads(items)
    return list(dict.fromkeys(parsed))


def events_page(db: Sql, after: int, batch: int) -> tuple[list[tuple[Event, float]], int]:
    """Up to `batch` events appended after sequence number `after`, and the last one read."""
    rows = db.execute(
        "SELECT seq, event_id, user_id, item_id, type, value, context, ts, "
        "recommendation_id, signal FROM events WHERE seq > {p} ORDER BY seq LIMIT {p}",
        (after, batch),
    ).fetchall()
    return [(_event(row), float(row[9])) for row in rows], (rows[-1][0] if rows else after)


def user_events(db: Sql, user_id: str, before: int, limit: int) -> list[tuple[int, Event]]:
    """A user's last `limit` events appended before sequence number `before`, newest first,
    each with its sequence number (the cursor of the next page)."""
    rows = db.execute(
        "SELECT seq, event_id, user_id, item_id, type, value, context, ts, recommendation_id "
        "FROM events WHERE user_id = {p} AND seq < {p} ORDER BY seq DESC LIMIT {p}",
        (user_id, before, limit),
    ).fetchall()
    return [(int(row[0]), _event(row)) for row in rows]


def item_ids(db: Sql, after: str, limit: int) -> list[str]:
    """Up to `limit` item ids after `after` in byte order (Python's string order)."""
    collate = ' COLLATE "C"' if db.dialect.name == "postgres" else ""
    rows = db.execute(
        f"SELECT id FROM items WHERE id{collate} > {{p}} ORDER BY id{collate} LIMIT {{p}}",
        (after, limit),
    )
    return [r[0] for r in rows]


# Deleting a user's events (`keep_impressions`) takes the first three; a forget takes all.
FORGET = ("events", "profiles", "profile_history", "impressions", "user_properties")


def forget_user(db: Sql, user_id: str, tables: Sequence[str] = FORGET) -> dict[str, int]:
    """Delete a user's rows of `tables` (by default their events, profiles, snapshots and
    impressions); the share of item popularity of the events goes with them."""
    fold(db)  # first: the share taken away is the one counted
    gone = db.execute(
        "SELECT item_id, SUM(signal), COUNT(*) FROM events WHERE user_id = {p} AND signal > 0 "
        "GROUP BY item_id",
        (user_id,),
    ).fetchall()
    db.executemany(
        "UPDATE popularity SET score = score - {p}, events = events - {p} WHERE item_id = {p}",
        [(score, count, item) for item, score, count in gone],
    )
    db.execute("DELETE FROM popularity WHERE events <= 0")
    for item, _, _ in gone:  # a log-sum cannot be subtracted from: sum the rest again
        rest = db.execute(
            "SELECT signal, ts FROM events WHERE item_id = {p} AND signal > 0 AND user_id != {p}",
            (item, user_id),
        ).fetchall()
        now = time.time()
        trend = float(np.logaddexp2.reduce([_trend(s, t, now) for s, t in rest] or [-1e300]))
        db.execute("UPDATE popularity SET trend = {p} WHERE item_id = {p}", (trend, item))
    counts = {}
    for table in tables:
        counts[table] = db.execute(
            f"DELETE FROM {table} WHERE user_id = {{p}}", (user_id,)
        ).rowcount
    return counts


def trend_score(trend: float, now: float) -> float:
    """The decayed weight today of the events summed in a `trend` key."""
    return float(2.0 ** min(trend - now / TREND_HALF_LIFE, 1000.0))


def _trend(signal: float, at: float, now: float) -> float:
    """An event's trend key; one dated after `now` counts as of now (else one event from
    year 9999 would top the trending list for ever)."""
    return math.log2(signal) + min(at, now) / TREND_HALF_LIFE


def _profile(
    vector: Callable[[Any], Vector | None],
    space: str,
    user: str,
    st: str,
    interest: Any,
    ema: Any,
    seed: Any,
) -> ProfileState:
    return ProfileState(
        user,
        interest=vector(interest),
        ema=vector(ema),
        seed=vector(seed),
        space=space,
        **_decode_state(st),
    )


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


def _context(context: dict[str, Any]) -> str:
    return json.dumps(context, ensure_ascii=False) if context else "{}"


def _encode_state(scalars: dict[str, Any]) -> str:
    """A profile's scalars as JSON text: orjson on the hot path (several times faster than
    `json` for these small rows), `json` for a value orjson refuses (a numpy scalar)."""
    try:
        return orjson.dumps(scalars).decode()
    except TypeError:
        return json.dumps(scalars)


def _decode_state(text: str) -> dict[str, Any]:
    try:
        decoded: dict[str, Any] = orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN or Infinity, which `json` writes and orjson refuses
        decoded = json.loads(text)
    return decoded


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


def _some(vector: Vector | None) -> Vector:
    assert vector is not None
    return vector
