"""The embedded store's SQLite schema, and the in-place upgrade of a store made by an older
likewise (one transaction: a crash in the middle leaves the old store as it was)."""

from __future__ import annotations

import sqlite3

from likewise.errors import StoreError

__all__ = ["SCHEMA_VERSION", "prepare", "upgrade"]

SCHEMA_VERSION = 3
# Version 3: one index of each user's events, in time order with the item: what a user has
# seen, their events and the retention report's (user, day) pairs are all read from it alone.
# Versions 1 and 2 kept two, by (user, item) and by (user, ts): each event wrote a page more.
_BY_USER = "CREATE INDEX IF NOT EXISTS events_user ON events(user_id, ts, item_id)"
# Also version 3: popularity counts events in folds, after the mark in `folds`. An older store
# counted each event as it was recorded: every one is counted already.
_COUNTED = "INSERT INTO folds SELECT 'popularity', COALESCE(MAX(seq), 0) FROM events"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY, label INTEGER NOT NULL UNIQUE, content_hash TEXT NOT NULL,
    record_hash TEXT NOT NULL, record TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT UNIQUE, user_id TEXT NOT NULL,
    item_id TEXT NOT NULL, type TEXT NOT NULL, value REAL, context TEXT NOT NULL,
    ts REAL NOT NULL, recommendation_id TEXT, signal REAL NOT NULL);
CREATE INDEX IF NOT EXISTS events_recommendation ON events(recommendation_id)
    WHERE recommendation_id IS NOT NULL;
-- the last event counted into popularity, by `store.sql.activity.fold` (version 3)
CREATE TABLE IF NOT EXISTS folds (name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS popularity (
    item_id TEXT PRIMARY KEY, score REAL NOT NULL, events INTEGER NOT NULL,
    trend REAL NOT NULL DEFAULT -1e300);
CREATE INDEX IF NOT EXISTS popularity_rank ON popularity(score DESC, item_id);
CREATE TABLE IF NOT EXISTS impressions (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, strategy TEXT NOT NULL, items TEXT NOT NULL,
    context TEXT NOT NULL, at REAL NOT NULL, ms REAL);
CREATE INDEX IF NOT EXISTS impressions_at ON impressions(at);
CREATE INDEX IF NOT EXISTS impressions_user ON impressions(user_id);
CREATE TABLE IF NOT EXISTS blobs (name TEXT PRIMARY KEY, data BLOB NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS forgotten (
    user_key TEXT PRIMARY KEY, seq INTEGER NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS feed_queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT NOT NULL, op TEXT NOT NULL,
    record TEXT, hash TEXT NOT NULL, source TEXT NOT NULL, queued REAL NOT NULL,
    state TEXT NOT NULL, error TEXT, done REAL);
CREATE INDEX IF NOT EXISTS feed_queue_state ON feed_queue(state, seq);
CREATE INDEX IF NOT EXISTS feed_queue_item ON feed_queue(item_id, state, seq);
CREATE TABLE IF NOT EXISTS feed_files (name TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS feed_cursors (
    url TEXT PRIMARY KEY, etag TEXT, modified TEXT, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS feed_lease (
    name TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT NOT NULL, users TEXT,
    model INTEGER NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS user_properties (
    user_id TEXT PRIMARY KEY, properties TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS segments (
    name TEXT PRIMARY KEY, filter TEXT NOT NULL, created_at REAL NOT NULL);
"""
# `changes` (changes.py), the feed's tables (store/sql/feed.py), `user_properties` and
# `segments` (store/sql/segments.py) came later without a new version: created at the open
# of any store, an older likewise ignores them.
# Version 2: profiles and their snapshots are kept per (user, vector space).
_PROFILES = """
CREATE TABLE IF NOT EXISTS profiles (
    user_id TEXT NOT NULL, space TEXT NOT NULL, state TEXT NOT NULL, interest BLOB, ema BLOB,
    seed BLOB, PRIMARY KEY (user_id, space));
CREATE TABLE IF NOT EXISTS profile_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, space TEXT NOT NULL,
    at REAL NOT NULL, vector BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS profile_history_user ON profile_history(user_id, space, seq);
"""
# Columns that stores made by the first releases lack (added in place, before version 2).
_COLUMNS = {
    "popularity": {"trend": "REAL NOT NULL DEFAULT -1e300"},
    "impressions": {"ms": "REAL"},
}


def prepare(db: sqlite3.Connection, where: str) -> None:
    """Create the tables of a new store, or upgrade a store made by an older likewise: one
    transaction under the write lock, so processes opening the same store at once agree, and
    a crash in the middle leaves the store as it was."""
    db.execute("BEGIN IMMEDIATE")
    try:
        for statement in _statements(_SCHEMA):
            db.execute(statement)
        _add_columns(db)
        version = _version(db)
        if version is None:
            for statement in [*_statements(_PROFILES), _BY_USER, _COUNTED]:
                db.execute(statement)
            db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif version != SCHEMA_VERSION:
            upgrade(db, version, where)
        db.execute("CREATE INDEX IF NOT EXISTS popularity_trend ON popularity(trend DESC, item_id)")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def upgrade(db: sqlite3.Connection, version: int, where: str) -> None:
    """Bring a store made by an older likewise to `SCHEMA_VERSION` (inside the caller's
    transaction)."""
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{where}: schema version {version} is newer than this likewise knows "
            f"({SCHEMA_VERSION}); upgrade likewise"
        )
    if version < 2:  # profiles keyed by user alone: every one of them is in `text`
        db.execute("ALTER TABLE profiles RENAME TO profiles_v1")
        db.execute("ALTER TABLE profile_history RENAME TO profile_history_v1")
        db.execute("DROP INDEX IF EXISTS profile_history_user")
        for statement in _statements(_PROFILES):
            db.execute(statement)
        db.execute(
            "INSERT INTO profiles SELECT user_id, 'text', state, interest, ema, seed "
            "FROM profiles_v1"
        )
        db.execute(
            "INSERT INTO profile_history SELECT seq, user_id, 'text', at, vector "
            "FROM profile_history_v1"
        )
        db.execute("DROP TABLE profiles_v1")
        db.execute("DROP TABLE profile_history_v1")
    if version < 3:
        db.execute("DROP INDEX IF EXISTS events_user_ts")
        db.execute("DROP INDEX IF EXISTS events_user")
        db.execute(_BY_USER)
        db.execute(_COUNTED)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))


def _statements(script: str) -> list[str]:
    return [s for s in script.split(";") if s.strip()]


def _add_columns(db: sqlite3.Connection) -> None:
    """Add the columns a store made by the first releases lacks (checked at every open)."""
    for table, columns in _COLUMNS.items():
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def _version(db: sqlite3.Connection) -> int | None:
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return None if row is None else int(row[0])
