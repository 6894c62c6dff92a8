"""The retention and engagement reports' time on a large event log, embedded and PostgreSQL.

The load: `--events` events (1M by default) of `--users` users (50k) over 90 days, each user
first seen on a random day and active on a few later ones; `--lists` impressions (200k) over
four strategies and two experiment variants, a tenth of the events being dwell events
attributed to one of them. The rows are written straight into the store's tables (the bench
measures the reports, not `record`), then each report is run `--repeat` times through the
Engine and its best and median wall time printed.

    python bench/retention.py [--events 1000000] [--users 50000] [--no-postgres]

Measured with the defaults on 2 cores shared with other work (load average 6-9), best of 3:
retention by day 2.42 s embedded / 1.13 s PostgreSQL, by week 2.99 / 0.80 s, engagement per
strategy 3.41 / 1.73 s. Without the index `events (user_id, ts)` (and the one-pass read of the
lists) the same run gave 6.09 / 3.81 s, 6.20 / 3.66 s and 12.33 / 4.48 s.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from likewise import Engine
from likewise.store import EmbeddedStore, StoreInfo
from search import new_database, postgres_server

DAY = 86_400.0
START = 1_767_571_200.0  # 2026-01-05, a Monday
STRATEGIES = ["popular", "ema", "hybrid", "mean", "home:a", "home:b"]


def rows(
    events: int, users: int, lists: int
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(events, impressions) as table rows: events (event_id, user_id, item_id, type, value,
    context, ts, recommendation_id, signal); impressions (id, user_id, strategy, items,
    context, at, ms)."""
    rng = random.Random(7)
    first = [START + rng.random() * 80 * DAY for _ in range(users)]
    shown = []
    for k in range(lists):
        u = rng.randrange(users)
        at = first[u] + rng.expovariate(1 / (3 * DAY))
        shown.append((f"{k:032x}", f"u{u}", rng.choice(STRATEGIES), '["i1"]', "{}", at, 5.0))
    out = []
    for k in range(events):
        u = rng.randrange(users)
        ts = first[u] + (0.0 if k < users else rng.expovariate(1 / (6 * DAY)))
        if k % 10 == 9:  # a dwell event on a list
            rec = shown[rng.randrange(lists)]
            out.append(
                (
                    f"e{k}",
                    rec[1],
                    "i1",
                    "dwell",
                    rng.uniform(5, 120),
                    "{}",
                    rec[5] + 60,
                    rec[0],
                    1.0,
                )
            )
        else:
            out.append((f"e{k}", f"u{u}", f"i{k % 5000}", "view", None, "{}", ts, None, 1.0))
    return out, shown


def load_embedded(path: Path, events: list[Any], shown: list[Any]) -> None:
    EmbeddedStore(path).initialize(StoreInfo("hashing-64", 64))
    db = sqlite3.connect(path / "likewise.db", isolation_level=None)
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO events(event_id, user_id, item_id, type, value, context, ts, "
        "recommendation_id, signal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        events,
    )
    db.executemany("INSERT INTO impressions VALUES (?, ?, ?, ?, ?, ?, ?)", shown)
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()


def load_postgres(url: str, events: list[Any], shown: list[Any]) -> None:
    import psycopg

    from likewise.store.postgres import PostgresStore

    store = PostgresStore(url)
    store.initialize(StoreInfo("hashing-64", 64))
    store.close()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY events(event_id, user_id, item_id, type, value, context, ts, "
            "recommendation_id, signal) FROM STDIN"
        ) as copy:
            for row in events:
                copy.write_row(row)
        with cur.copy(
            "COPY impressions(id, user_id, strategy, items, context, at, ms) FROM STDIN"
        ) as copy:
            for row in shown:
                copy.write_row(row)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def timed(call: Callable[[], Any], repeat: int) -> dict[str, float]:
    walls = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        walls.append(time.perf_counter() - started)
    return {"best_s": min(walls), "median_s": statistics.median(walls)}


def measure(location: str, repeat: int) -> Iterator[tuple[str, dict[str, float]]]:
    until = START + 100 * DAY
    engine = Engine.open(location, model="hashing-64")
    try:
        calls = {
            "retention by day": lambda: engine.retention_report(until=until),
            "retention by week": lambda: engine.retention_report(by="week", until=until),
            "engagement per strategy": lambda: engine.engagement_report(until=until),
        }
        cohorts = engine.retention_report(until=until)
        print(
            f"  {len(cohorts)} day cohorts, {sum(c.users for c in cohorts):,} users",
            file=sys.stderr,
        )
        for name, call in calls.items():
            yield name, timed(call, repeat)
    finally:
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--lists", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    events, shown = rows(args.events, args.users, args.lists)
    results: dict[str, dict[str, dict[str, float]]] = {}
    folder = Path(tempfile.mkdtemp(prefix="likewise-bench-retention-"))
    try:
        load_embedded(folder / "data", events, shown)
        results["embedded"] = dict(measure(str(folder / "data"), args.repeat))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if not args.no_postgres:
        with postgres_server(True) as server:
            url = new_database(server, args.events)
            load_postgres(url, events, shown)
            results["postgres"] = dict(measure(url, args.repeat))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"\n{args.events:,} events ({args.events // 10:,} dwell), {args.users:,} users, "
        f"{args.lists:,} lists shown"
    )
    print("| report | backend | best s | median s |")
    print("| --- | --- | ---: | ---: |")
    for backend, found in results.items():
        for name, t in found.items():
            print(f"| {name} | {backend} | {t['best_s']:.2f} | {t['median_s']:.2f} |")


if __name__ == "__main__":
    main()
