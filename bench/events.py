"""Events with online profile updates, and recommend latency per strategy.

A store of N clustered synthetic items (384-d, as in bench/search.py, `bucket` 0..99) and U
users. Measured in one process, each against a baseline run in the same process:
- events one at a time (each durable: its own transaction with the profile update) against a
  bare durable SQLite insert of the same rows (what appending a log alone costs);
- events in batches of 1,000 against a bare batched insert, and against two floors: that
  insert with a profile-sized row upserted per user, and likewise's own log alone (its table,
  indexes, popularity folds and `changes` row: no validation, no profile at all);
- recommend p50/p99 per strategy (and with a 10% filter, and `hybrid` after `train`) against
  the store's bare vector search for a random stored vector (the floor under any recommend),
  with the store calls each uncached list makes.

    python bench/events.py [--items 100000] [--users 10000] [--no-train]

`--no-train` leaves out `train` (minutes at 100k items) and the rows that need its models.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from likewise import Engine, Settings
from likewise.items import Item
from likewise.store import EmbeddedStore, Entry, StoreInfo
from likewise.store.sql import activity
from search import DIM, chunks

TYPES = ["view"] * 4 + ["click"] * 3 + ["like", "dislike", "skip", "purchase"]


def build(path: Path, n: int) -> None:
    store = EmbeddedStore(path)
    store.initialize(StoreInfo("hashing-384", DIM))  # events need vectors, not the model
    rng = np.random.default_rng(3)
    for lo, data in chunks(n, seed=1):
        bucket = rng.integers(0, 100, len(data))
        store.upsert(
            [
                Entry(Item(id=f"i{lo + k}", metadata={"bucket": int(bucket[k])}), "-", vec)
                for k, vec in enumerate(data)
            ]
        )
    store.close()


def event(rng: random.Random, users: int, items: int, k: int) -> dict[str, Any]:
    return {
        "user_id": f"u{rng.randrange(users)}",
        "item_id": f"i{rng.randrange(items)}",
        "type": rng.choice(TYPES),
        "timestamp": 1_700_000_000 + k,
        "event_id": f"e{k}",
    }


LOG = (
    "CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, event_id TEXT UNIQUE, "
    "user_id TEXT, item_id TEXT, type TEXT, ts REAL)"
)
Extra = Callable[[sqlite3.Connection, list[dict[str, Any]]], object]


def bare_log(path: Path, rows: list[dict[str, Any]], batch: int) -> float:
    """Seconds to append `rows` durably to a bare SQLite table, `batch` per transaction."""
    return _timed(path, [LOG], rows, batch, lambda db, part: None)


def log_alone(path: Path, rows: list[dict[str, Any]], batch: int) -> float:
    """Seconds to append `rows` to likewise's own event log, `batch` per durable transaction:
    its table and indexes, popularity counted in folds as likewise counts it, each write's
    `changes` row, and no validation and no profile. The floor under batched recording with
    the log as it is kept: what is left with every profile write taken away."""
    store = EmbeddedStore(path)
    store.initialize(StoreInfo("hashing-384", DIM))
    insert = (
        "INSERT INTO events(event_id, user_id, item_id, type, value, context, ts, "
        "recommendation_id, signal) VALUES ({p}, {p}, {p}, {p}, NULL, '{}', {p}, NULL, 1.0)"
    )
    start = time.perf_counter()
    for lo in range(0, len(rows), batch):
        part = rows[lo : lo + batch]
        with store._writing() as db:
            db.executemany(
                insert,
                [
                    (r["event_id"], r["user_id"], r["item_id"], r["type"], r["timestamp"])
                    for r in part
                ],
            )
            if activity.pending(db) >= activity.FOLD_AT:
                activity.fold(db)
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed


def bare_profiles(path: Path, rows: list[dict[str, Any]], batch: int) -> float:
    """Seconds for `bare_log` plus, in each transaction, one upsert per user of the batch of a
    row as large as a profile's (two 384-d float32 vectors and a short state): the floor
    under recording that rewrites each user's profile with their events, with no math."""
    schema = [
        LOG,
        "CREATE TABLE IF NOT EXISTS profiles (user_id TEXT PRIMARY KEY, state TEXT, "
        "interest BLOB, ema BLOB)",
    ]
    vectors = np.random.default_rng(0).standard_normal((64, DIM)).astype(np.float32)
    blobs = [v.tobytes() for v in vectors]

    def profiles(db: sqlite3.Connection, part: list[dict[str, Any]]) -> None:
        db.executemany(
            "INSERT INTO profiles VALUES (?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET "
            "state = excluded.state, interest = excluded.interest, ema = excluded.ema",
            [
                (user, '{"events": 1, "recent": []}', blobs[k % 64], blobs[(k + 1) % 64])
                for k, user in enumerate({r["user_id"]: None for r in part})
            ],
        )

    return _timed(path, schema, rows, batch, profiles)


def _timed(
    path: Path, schema: list[str], rows: list[dict[str, Any]], batch: int, extra: Extra
) -> float:
    """Seconds to append `rows` to `log`, `batch` per durable transaction, each with `extra`."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    for statement in schema:
        db.execute(statement)
    start = time.perf_counter()
    for lo in range(0, len(rows), batch):
        part = rows[lo : lo + batch]
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT INTO log(event_id, user_id, item_id, type, ts) VALUES (?, ?, ?, ?, ?)",
            [(r["event_id"], r["user_id"], r["item_id"], r["type"], r["timestamp"]) for r in part],
        )
        extra(db, part)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def latencies(fn: Callable[[int], object], count: int) -> list[float]:
    out = []
    for k in range(count):
        t0 = time.perf_counter()
        fn(k)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=20, help="batched events per user")
    parser.add_argument("--single", type=int, default=5_000, help="events one at a time")
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument(
        "--dense-items", type=int, default=10_000, help="items the dense models cover (train)"
    )
    parser.add_argument(
        "--no-train", action="store_true", help="no train: events and the profile strategies"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="likewise-bench-events-"))
    rng = random.Random(5)
    results: dict[str, Any] = {"items": args.items, "users": args.users}
    try:
        print(f"building {args.items:,} items ...", file=sys.stderr, flush=True)
        build(folder / "data", args.items)
        # No cache of hot results: every recommend below is computed.
        settings = Settings(cache_size=0, dense_items=args.dense_items)
        engine = Engine.open(str(folder / "data"), settings=settings)
        total = args.users * args.history
        after = 20_000  # events recorded again once a model exists (two spaces of profiles)
        rows = [event(rng, args.users, args.items, k) for k in range(total + args.single + after)]
        batched, single = rows[:total], rows[total : total + args.single]
        later = rows[total + args.single :]

        print(f"recording {total:,} events in batches ...", file=sys.stderr, flush=True)
        each = latencies(
            lambda k: engine.record_many(batched[k * 1000 : k * 1000 + 1000]), total // 1000
        )
        batch_s = sum(each) / 1000
        bare_batch_s = bare_log(folder / "bare-batch.db", batched, 1000)
        floor_s = bare_profiles(folder / "bare-profiles.db", batched, 1000)
        alone_s = log_alone(folder / "log-alone", batched, 1000)

        print(f"recording {args.single:,} events one at a time ...", file=sys.stderr, flush=True)
        one = latencies(lambda k: engine.record(**single[k]), args.single)
        bare_one_s = bare_log(folder / "bare-one.db", single, 1)
        results["events"] = {
            "batched_per_s": total / batch_s,
            "batch_p50_ms": p(each, 50),
            "batch_p99_ms": p(each, 99),
            "bare_profiles_per_s": total / floor_s,
            "log_alone_per_s": total / alone_s,
            "bare_batched_per_s": total / bare_batch_s,
            "single_per_s": args.single / (sum(one) / 1000),
            "single_p50_ms": p(one, 50),
            "single_p99_ms": p(one, 99),
            "bare_single_per_s": args.single / bare_one_s,
        }

        users = [f"u{rng.randrange(args.users)}" for _ in range(args.queries)]
        probes = [engine.store.vector(f"i{rng.randrange(args.items)}") for _ in users]
        rows_out: dict[str, dict[str, float]] = {}
        bare = latencies(lambda k: engine.store.search(probes[k], n=10), args.queries)
        rows_out["bare vector search (baseline)"] = {"p50": p(bare, 50), "p99": p(bare, 99)}
        cases: list[tuple[str, dict[str, Any]]] = [
            (s, {"strategy": s}) for s in ("dislike", "ema", "mean", "momentum")
        ]
        cases.append(("dislike, 10% filter", {"where": {"bucket": {"lt": 10}}}))
        cases.append(("new user (popular)", {"user": "nobody"}))
        if not args.no_train:
            cases.append(("hybrid", {"strategy": "hybrid"}))
            cases.append(("hybrid, popular weighted", {"strategy": "hybrid", "weights": MIXED}))
            cases.append(("hybrid, every model", {"strategy": "hybrid", "weights": LEARNED}))
            cases.append(("ema, behaviour space", {"strategy": "ema", "space": "behaviour"}))
            print("training every model ...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            info = engine.train()
            results["train"] = {
                "seconds": time.perf_counter() - started,
                "items": info["items"],
                "dense_items": info["dense_items"],
                "seconds_by_model": info["seconds"],
            }
        calls = count_calls(engine.store)
        for name, kw in cases:
            user = kw.pop("user", None)
            before = sum(calls.values())
            got = latencies(
                lambda k, kw=kw, user=user: engine.recommend(user or users[k], n=10, **kw),
                args.queries,
            )
            per = (sum(calls.values()) - before) / args.queries
            rows_out[name] = {"p50": p(got, 50), "p99": p(got, 99), "store_calls": per}
        results["recommend"] = rows_out
        # Last: events recorded after `train` also feed the item-kNN overlay (`observe`),
        # which the lists above would then read.
        if not args.no_train:
            print(f"recording {after:,} events with a model ...", file=sys.stderr, flush=True)
            start = time.perf_counter()
            for lo in range(0, after, 1000):
                engine.record_many(later[lo : lo + 1000])
            results["events"]["batched_trained_per_s"] = after / (time.perf_counter() - start)
        engine.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report(results)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "events.json").write_text(json.dumps(results, indent=2))


MIXED = {"collaborative": 1.0, "content": 0.5, "popular": 0.3}
# Every trained source at once (the weights `train --tune` chose on MovieLens-1M, plus content).
LEARNED = {"collaborative": 0.1, "ease": 0.1, "sequential": 1.0, "behaviour": 0.1, "content": 0.1}
# The Store methods a recommend may call (the writes of impressions run in the background).
READS = (
    "profile",
    "user",
    "seen",
    "search",
    "nearest",
    "vectors",
    "vector",
    "fetch",
    "matching",
    "get",
    "titles",
    "popular",
    "snapshots",
    "shown",
    "get_blob",
    "count",
)


def count_calls(store: Any) -> dict[str, int]:
    """Count the calls of the store's read methods from now on (wrapped on the instance)."""
    calls: dict[str, int] = {}
    for name in READS:
        method = getattr(store, name, None)
        if method is None:
            continue

        def counted(*args: Any, _name: str = name, _m: Any = method, **kwargs: Any) -> Any:
            calls[_name] = calls.get(_name, 0) + 1
            return _m(*args, **kwargs)

        setattr(store, name, counted)
    return calls


def report(r: dict[str, Any]) -> None:
    e = r["events"]
    print(f"\n## Events, {r['items']:,} items x {r['users']:,} users (profile updated online)")
    print("| mode | likewise events/s | bare SQLite log events/s | ratio |")
    print("| --- | ---: | ---: | ---: |")
    print(
        f"| one at a time (durable each; p50 {e['single_p50_ms']:.3f} ms, p99 "
        f"{e['single_p99_ms']:.3f} ms) | {e['single_per_s']:,.0f} | "
        f"{e['bare_single_per_s']:,.0f} | {e['single_per_s'] / e['bare_single_per_s']:.2f} |"
    )
    print(
        f"| batches of 1,000 (a batch: p50 {e['batch_p50_ms']:.1f} ms, p99 "
        f"{e['batch_p99_ms']:.1f} ms) | {e['batched_per_s']:,.0f} | "
        f"{e['bare_batched_per_s']:,.0f} | "
        f"{e['batched_per_s'] / e['bare_batched_per_s']:.2f} |"
    )
    floor = e["bare_profiles_per_s"]
    print(
        f"| bare: the log and one profile-sized row upserted per user, batches of 1,000 "
        f"| {floor:,.0f} | {e['bare_batched_per_s']:,.0f} | {floor / e['bare_batched_per_s']:.2f} |"
    )
    alone = e["log_alone_per_s"]
    print(
        f"| likewise's log alone (its indexes, popularity folds, the changes row; no "
        f"validation, no profile), batches of 1,000 | {alone:,.0f} | "
        f"{e['bare_batched_per_s']:,.0f} | {alone / e['bare_batched_per_s']:.2f} |"
    )
    trained = e.get("batched_trained_per_s")
    if trained is not None:
        print(
            f"| batches of 1,000 after `train` (text + behaviour profiles) | {trained:,.0f} | "
            f"{e['bare_batched_per_s']:,.0f} | {trained / e['bare_batched_per_s']:.2f} "
            f"({trained / e['batched_per_s']:.2f}x the untrained rate) |"
        )
    t = r.get("train")
    if t is not None:
        print(
            f"\ntrain: {t['seconds']:.1f} s ({t['items']:,} items, {t['dense_items']:,} in the "
            f"dense models; {', '.join(f'{k} {v:g} s' for k, v in t['seconds_by_model'].items())})"
        )
    print("\n## recommend(n=10)")
    print("| strategy | p50 ms | p99 ms | p50 vs bare search | store calls per list |")
    print("| --- | ---: | ---: | ---: | ---: |")
    base = r["recommend"]["bare vector search (baseline)"]["p50"]
    for name, row in r["recommend"].items():
        calls = f"{row['store_calls']:.1f}" if "store_calls" in row else "1"
        print(
            f"| {name} | {row['p50']:.3f} | {row['p99']:.3f} | {row['p50'] / base:.2f}x | {calls} |"
        )
    print(
        "\nTargets (issue 23): >= 2,000 events/s one at a time, >= 50,000 in batches of 1,000; "
        "an uncached list's p50 <= 2x the bare search."
    )


if __name__ == "__main__":
    main()
