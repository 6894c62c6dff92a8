"""PostgreSQL schema: numbered migrations with their data backfills, applied under the write
lock (two servers starting together migrate once)."""

from __future__ import annotations

import logging
import time
from typing import Any

from psycopg import Connection

from likewise.errors import ConfigError
from likewise.filters import filterable
from likewise.store.postgres.filter import number_rows

__all__ = ["FORGET_LOCK", "MIGRATIONS", "WRITE_LOCK", "insert_numbers", "migrate"]

log = logging.getLogger(__name__)

WRITE_LOCK = 0x6C696B65  # "like": the advisory lock every write transaction holds
FORGET_LOCK = 0x666F7267  # "forg": a forget holds it alone, impression writes shared
# Numbered migrations: each runs once, in order, in one transaction, recorded in
# `schema_version`, then its data step (BACKFILLS) if it has one. Never edit one that has
# shipped; add the next.
MIGRATIONS: dict[int, str] = {
    1: """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE SEQUENCE item_seq;
CREATE TABLE items (
    id TEXT PRIMARY KEY, seq BIGINT NOT NULL, model_id TEXT NOT NULL,
    content_hash TEXT NOT NULL, record_hash TEXT NOT NULL, record JSONB NOT NULL,
    fkeys JSONB NOT NULL, franges JSONB NOT NULL, embedding vector,
    updated_at DOUBLE PRECISION NOT NULL);
CREATE INDEX items_fkeys ON items USING gin (fkeys);
CREATE INDEX items_seq ON items (seq DESC);
CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id TEXT UNIQUE,
    user_id TEXT NOT NULL, item_id TEXT NOT NULL, type TEXT NOT NULL,
    value DOUBLE PRECISION, context TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL,
    recommendation_id TEXT, signal DOUBLE PRECISION NOT NULL);
CREATE INDEX events_user ON events (user_id, item_id);
CREATE INDEX events_recommendation ON events (recommendation_id)
    WHERE recommendation_id IS NOT NULL;
CREATE TABLE profiles (
    user_id TEXT PRIMARY KEY, state TEXT NOT NULL, interest vector, ema vector, seed vector);
CREATE TABLE profile_history (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL, vector vector NOT NULL);
CREATE INDEX profile_history_user ON profile_history (user_id, seq);
CREATE TABLE popularity (
    item_id TEXT PRIMARY KEY, score DOUBLE PRECISION NOT NULL, events INTEGER NOT NULL,
    trend DOUBLE PRECISION NOT NULL DEFAULT -1e300);
CREATE INDEX popularity_rank ON popularity (score DESC, item_id);
CREATE INDEX popularity_trend ON popularity (trend DESC, item_id);
CREATE TABLE impressions (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, strategy TEXT NOT NULL, items TEXT NOT NULL,
    context TEXT NOT NULL, at DOUBLE PRECISION NOT NULL);
CREATE INDEX impressions_at ON impressions (at);
CREATE INDEX impressions_user ON impressions (user_id);
CREATE TABLE blobs (name TEXT PRIMARY KEY, data BYTEA NOT NULL, at DOUBLE PRECISION NOT NULL);
""",
    # Ranges on numbers and dates by B-tree, so a selective range filter finds its few items
    # without reading every row (see `filter.candidates`).
    2: """
CREATE TABLE IF NOT EXISTS item_numbers (
    field TEXT NOT NULL, kind "char" NOT NULL, value DOUBLE PRECISION NOT NULL,
    item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE, seq BIGINT NOT NULL);
CREATE INDEX item_numbers_range ON item_numbers (field, kind, value) INCLUDE (seq);
CREATE INDEX item_numbers_item ON item_numbers (item_id);
""",
    # How long each list took to make, for the dashboard's latency percentiles.
    3: "ALTER TABLE impressions ADD COLUMN ms DOUBLE PRECISION;",
    # Profiles and their snapshots per (user, vector space); those stored before are `text`.
    4: """
ALTER TABLE profiles ADD COLUMN space TEXT NOT NULL DEFAULT 'text';
ALTER TABLE profiles DROP CONSTRAINT profiles_pkey;
ALTER TABLE profiles ADD PRIMARY KEY (user_id, space);
ALTER TABLE profiles ALTER COLUMN space DROP DEFAULT;
ALTER TABLE profile_history ADD COLUMN space TEXT NOT NULL DEFAULT 'text';
ALTER TABLE profile_history ALTER COLUMN space DROP DEFAULT;
DROP INDEX IF EXISTS profile_history_user;
CREATE INDEX profile_history_user ON profile_history (user_id, space, seq);
""",
    # The catalog in pages, in byte order (`Store.item_ids`): an index scan, not a sort.
    5: 'CREATE INDEX items_id_c ON items (id COLLATE "C");',
    # Tombstones of forgotten users (a digest of the id and the forget mark, kept an hour):
    # another server's impressions of them begun before the forget are not written after it.
    6: "CREATE TABLE forgotten (user_key TEXT PRIMARY KEY, seq BIGINT NOT NULL, "
    "at DOUBLE PRECISION NOT NULL);",
    # The shadow of the text vectors a reembed fills beside them (`shadow.py`).
    7: "ALTER TABLE items ADD COLUMN IF NOT EXISTS embedding_next vector;",
    # The feed's durable queue, the files and HTTP cursors it took, its worker's lease
    # (store/sql/feed.py).
    8: """
CREATE TABLE IF NOT EXISTS feed_queue (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, item_id TEXT NOT NULL,
    op TEXT NOT NULL, record TEXT, hash TEXT NOT NULL, source TEXT NOT NULL,
    queued DOUBLE PRECISION NOT NULL, state TEXT NOT NULL, error TEXT, done DOUBLE PRECISION);
CREATE INDEX IF NOT EXISTS feed_queue_state ON feed_queue (state, seq);
CREATE INDEX IF NOT EXISTS feed_queue_item ON feed_queue (item_id, state, seq);
CREATE TABLE IF NOT EXISTS feed_files (name TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS feed_cursors (
    url TEXT PRIMARY KEY, etag TEXT, modified TEXT, at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS feed_lease (name TEXT PRIMARY KEY, owner TEXT NOT NULL,
    until DOUBLE PRECISION NOT NULL);
""",
    # Users' properties and the segments (named filters) over them (`sql/segments.py`); IF
    # NOT EXISTS, as 7: a test replays the migrations over a store rolled back to version 1.
    9: """
CREATE TABLE IF NOT EXISTS user_properties (
    user_id TEXT PRIMARY KEY, properties TEXT NOT NULL, updated_at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS segments (
    name TEXT PRIMARY KEY, filter TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL);
""",
    # Each user's events in time order: the retention report's (user, day) pairs come from
    # this index alone (`store/sql/retention.py`), not from a read of every event row.
    10: "CREATE INDEX IF NOT EXISTS events_user_ts ON events (user_id, ts);",
    # One index of each user's events instead of 1's and 10's: (user, ts, item) serves what a
    # user has seen, their events and the retention report alike, and an event writes one
    # entry fewer (bench/events.py). And popularity counts events in folds, after the mark in
    # `folds` (`store.sql.activity.fold`): the events stored before were counted already.
    11: """
DROP INDEX IF EXISTS events_user_ts;
DROP INDEX IF EXISTS events_user;
CREATE INDEX IF NOT EXISTS events_user ON events (user_id, ts, item_id);
CREATE TABLE IF NOT EXISTS folds (name TEXT PRIMARY KEY, seq BIGINT NOT NULL);
INSERT INTO folds SELECT 'popularity', COALESCE(MAX(seq), 0) FROM events
    ON CONFLICT (name) DO NOTHING;
""",
}


def insert_numbers(conn: Connection[Any], rows: list[tuple[str, str, float, str]]) -> None:
    """Add `item_numbers` rows, each with its item's current `seq`."""
    if rows:
        conn.execute(
            "INSERT INTO item_numbers (field, kind, value, item_id, seq) "
            "SELECT v.field, v.kind, v.value, v.item_id, i.seq FROM unnest("
            '%s::text[], %s::"char"[], %s::float8[], %s::text[]) AS v(field, kind, value, '
            "item_id) JOIN items i ON i.id = v.item_id",
            [list(column) for column in zip(*rows, strict=True)],
        )


def _fill_item_numbers(conn: Connection[Any]) -> None:
    """Migration 2's data: the numbers and dates of the items stored before it."""
    with conn.cursor(name="items") as cursor:  # server-side: the catalog is not all in memory
        cursor.execute("SELECT id, record FROM items")
        while rows := cursor.fetchmany(1000):
            insert_numbers(conn, [x for i, rec in rows for x in number_rows(i, filterable(rec))])


BACKFILLS = {2: _fill_item_numbers}


def migrate(conn: Connection[Any]) -> list[int]:
    """Apply the migrations the database lacks, each in its own transaction, under the write
    lock (two servers starting together migrate once). Returns the versions applied."""
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
        )
        have = {r[0] for r in conn.execute("SELECT version FROM schema_version").fetchall()}
        newer = [v for v in have if v not in MIGRATIONS]
        if newer:
            raise ConfigError(
                f"the database has schema version {max(newer)}, newer than this likewise "
                f"knows ({max(MIGRATIONS)}); upgrade likewise"
            )
        for version in sorted(MIGRATIONS):
            if version in have:
                continue
            conn.execute(MIGRATIONS[version])
            if version in BACKFILLS:
                BACKFILLS[version](conn)
            conn.execute(
                "INSERT INTO schema_version(version, applied_at) VALUES (%s, %s)",
                (version, time.time()),
            )
            applied.append(version)
            log.info("applied schema migration %d", version)
    return applied
