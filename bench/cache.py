"""What a cache hit costs with the forget mark read as each request begins (one read of a
row of the store, so no process serves a cached list of a user another process forgot)
against the same hit without it, in one process, on the embedded store or PostgreSQL.

    python bench/cache.py --items 10000 --users 200 --requests 20000
    python bench/cache.py --data postgresql://...   # an empty database
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

from likewise import Engine, Settings


def timed(engine: Engine, users: list[str], requests: int, read: bool) -> list[float]:
    """Cached lists as Engine.recommend asks the Ranker for them (untracked), with the
    mark read first (`read`) or given as a constant (the baseline)."""
    ranker = engine.personal.ranker  # a bench may reach inside: it measures one part
    out = []
    for k in range(requests):
        started = time.perf_counter()
        mark = engine.store.forget_mark() if read else 0
        rec = ranker.recommend(users[k % len(users)], n=10, strategy="ema", mark=mark)
        out.append((time.perf_counter() - started) * 1e6)
        assert rec.cached or k < len(users)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="a store URL (default: a temp folder)")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    data = args.data or tempfile.mkdtemp(prefix="likewise-cache-") + "/data"
    rng = np.random.default_rng(0)
    with Engine.open(data, model="hashing-64", settings=Settings(cache_size=100_000)) as engine:
        engine.add_items(
            {"id": f"i{k}", "title": f"item {k} topic {k % 97}"} for k in range(args.items)
        )
        users = [f"u{k}" for k in range(args.users)]
        engine.record_many(
            {"user_id": u, "item_id": f"i{rng.integers(args.items)}", "type": "like"}
            for u in users
            for _ in range(5)
        )
        rows = []
        for name, read in (("mark given (baseline)", False), ("mark read from the store", True)):
            engine.personal.cache.touch_all()
            timed(engine, users, len(users), read)  # fill
            samples = timed(engine, users, args.requests, read)
            rows.append((name, statistics.median(samples), float(np.percentile(samples, 99))))
    base = rows[0][1]
    print(f"cache hits, {args.items} items, {args.users} users, {args.requests} requests")
    print("| variant | p50 µs | p99 µs | p50 vs baseline |")
    print("| --- | --- | --- | --- |")
    for name, p50, p99 in rows:
        print(f"| {name} | {p50:.1f} | {p99:.1f} | {p50 / base:.2f}x |")


if __name__ == "__main__":
    main()
