"""Loading a catalog into PostgreSQL: `Store.upsert` in batches of 20,000 (item by item into
the live HNSW index: how bench/search.py builds, and how `likewise copy` loaded before)
against `PostgresStore.bulk_load` (COPY in one transaction, the index built once after with
`maintenance_work_mem` set), in the same run, on the same server, with the same items.

The items are bench/search.py's: N clustered 384-d vectors with a `bucket` field. Each way
loads into a new database; the time excludes generating the vectors. Afterwards both stores
answer the same 100 unfiltered queries, and the overlap of their top 10 is printed (the two
indexes are built differently, so they may differ by a little).

    python bench/bulk_load.py [--n 100000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from likewise.items import Item
from likewise.store import Entry, StoreInfo
from likewise.store.postgres import PostgresStore
from search import DIM, buckets, chunks, postgres_server, vectors

BATCH = 20_000


def batches(n: int) -> Iterator[list[Entry]]:
    bucket = buckets(n)
    for lo, data in chunks(n, seed=1):
        for sub in range(0, len(data), BATCH):
            yield [
                Entry(Item(id=f"i{k}", metadata={"bucket": int(bucket[k])}), "h", data[k - lo])
                for k in range(lo + sub, lo + min(len(data), sub + BATCH))
            ]


def new_database(server: str, name: str) -> str:
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


def load(url: str, n: int, bulk: bool) -> float:
    """Seconds to load n items one way (vector generation not counted)."""
    store = PostgresStore(url)
    store.initialize(StoreInfo("bench", DIM))
    made = list(batches(n))  # generated before the clock starts
    start = time.perf_counter()
    if bulk:
        store.bulk_load((entries, {}) for entries in made)
    else:
        for entries in made:
            store.upsert(entries)
    took = time.perf_counter() - start
    store.close()
    return took


def overlap(a: str, b: str) -> float:
    queries = vectors(100, seed=2)
    first, second = PostgresStore(a), PostgresStore(b)
    shared = 0
    for q in queries:
        x = {h.id for h in first.search(q, n=10)}
        y = {h.id for h in second.search(q, n=10)}
        shared += len(x & y)
    first.close()
    second.close()
    return shared / (10 * len(queries))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with postgres_server(True) as server:
        urls = {}
        for way, bulk in (("upsert (before)", False), ("bulk_load (COPY)", True)):
            urls[way] = new_database(server, f"likewise_load_{'bulk' if bulk else 'upsert'}")
            results[way] = load(urls[way], args.n, bulk)
            print(f"{way}: {results[way]:.1f} s", flush=True)
        agree = overlap(*urls.values())
    before, after = results["upsert (before)"], results["bulk_load (COPY)"]
    print()
    print(f"| {args.n:,} items, 384-d | seconds | items/s |")
    print("| --- | --- | --- |")
    for way, took in results.items():
        print(f"| {way} | {took:.1f} | {args.n / took:,.0f} |")
    print()
    print(f"bulk_load is {before / after:.1f}x faster; top-10 overlap of the two: {agree:.3f}")
    print(f"(numpy {np.__version__})")


if __name__ == "__main__":
    main()
