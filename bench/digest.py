"""A newsletter for every user: `Engine.digest` against a `recommend` per user.

A store of N clustered synthetic items (384-d vectors put directly, as in bench/search.py,
no embedding) and U users with about 20 events each (recorded in batches, so each user has
a profile). Measured in one process:
- the digest of every user (n=10, strategy `dislike`, earlier digests' items left out, each
  list logged as an impression): users/s, and each page's milliseconds (median, p99);
- beside it, the same lists made by `Engine.recommend` one user at a time (untracked, with
  the sent items as `exclude`) on a sample of users: users/s, and the ratio;
- how many of the sample's lists are the same in both (ids and order), and the mean overlap;
- beside the wall times, the process's CPU seconds (all its threads), which a loaded machine
  inflates less than it does the wall time.

    python bench/digest.py [--items 100000] [--users 10000] [--sample 1000] [--where]

`--where` adds `{"bucket": {"lt": 50}}` (half the catalog) to both.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from likewise import Engine, Settings
from likewise.engine.digest import DIGEST_PAGE
from likewise.items import Item
from likewise.store import EmbeddedStore, Entry, StoreInfo
from search import DIM, chunks

EVENTS = 20
TYPES = ["view"] * 4 + ["click"] * 3 + ["like", "dislike", "purchase"]


def build(path: Path, items: int, users: int) -> float:
    """The store, then the events in batches; returns the seconds the events took."""
    store = EmbeddedStore(path)
    store.initialize(StoreInfo("hashing-384", DIM))  # the digest needs vectors, not a model
    rng = np.random.default_rng(3)
    for lo, data in chunks(items, seed=1):
        bucket = rng.integers(0, 100, len(data))
        for sub in range(0, len(data), 20_000):
            store.upsert(
                [
                    Entry(
                        Item(id=f"i{k}", metadata={"bucket": int(bucket[k - lo])}),
                        "-",
                        data[k - lo],
                    )
                    for k in range(lo + sub, lo + min(len(data), sub + 20_000))
                ]
            )
    store.close()
    pick = random.Random(5)
    events = [
        {
            "user_id": f"u{u:06d}",
            # each user's events gather around a few neighbouring items (a taste), ids apart
            "item_id": f"i{(u * 7919 + pick.randrange(200)) % items}",
            "type": pick.choice(TYPES),
            "timestamp": 1_700_000_000 + u * EVENTS + k,
        }
        for u in range(users)
        for k in range(EVENTS)
    ]
    start = time.perf_counter()
    with Engine.open(str(path), settings=Settings()) as engine:
        for lo in range(0, len(events), 5_000):
            engine.record_many(events[lo : lo + 5_000])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=1_000)
    parser.add_argument("--where", action="store_true")
    args = parser.parse_args()
    where = {"bucket": {"lt": 50}} if args.where else None
    folder = Path(tempfile.mkdtemp(prefix="likewise-digest-"))
    try:
        t0 = time.perf_counter()
        recording = build(folder / "data", args.items, args.users)
        print(
            f"built {args.items} items, {args.users} users x {EVENTS} events in "
            f"{time.perf_counter() - t0:.1f} s (events {recording:.1f} s)"
        )
        with Engine.open(str(folder / "data"), settings=Settings()) as engine:
            sample = [f"u{u:06d}" for u in random.Random(9).sample(range(args.users), args.sample)]
            # The baseline first, on a store with no digest yet: the same lists the digest
            # makes next (nothing sent before), one `recommend` per user.
            t0, c0 = time.perf_counter(), time.process_time()
            single = {
                u: engine.recommend(u, n=10, strategy="dislike", where=where, track=False)
                for u in sample
            }
            per_user, per_user_cpu = time.perf_counter() - t0, time.process_time() - c0
            pages: list[float] = []
            got = {}
            done = 0
            t0 = last = time.perf_counter()
            c0 = time.process_time()

            def tick(count: int) -> None:
                nonlocal last, done
                now = time.perf_counter()
                pages.append((now - last) * 1000)
                last, done = now, done + count

            for user, rec in engine.digest(
                "weekly", 10, strategy="dislike", where=where, progress=tick
            ):
                got[user] = rec
            batched, batched_cpu = time.perf_counter() - t0, time.process_time() - c0
        same = sum([r.id for r in got[u].items] == [r.id for r in single[u].items] for u in sample)
        overlap = np.mean(
            [
                len({r.id for r in got[u].items} & {r.id for r in single[u].items}) / 10
                for u in sample
            ]
        )
        digest_rate, single_rate = done / batched, len(sample) / per_user
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"\n{args.items} items, {done} users, n=10, where={where}, page={DIGEST_PAGE}, "
            f"{os.cpu_count()} cores, load average {load}\n"
        )
        # CPU seconds of every thread of the process: what the run cost, which a loaded
        # machine inflates less than the wall time.
        print("| way | users | s | users/s | CPU s | users per CPU s | page ms p50 | p99 |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        print(
            f"| digest (batched) | {done} | {batched:.2f} | {digest_rate:,.0f} | "
            f"{batched_cpu:.2f} | {done / batched_cpu:,.0f} | "
            f"{np.median(pages):.1f} | {np.percentile(pages, 99):.1f} |"
        )
        print(
            f"| recommend per user | {len(sample)} | {per_user:.2f} | {single_rate:,.0f} | "
            f"{per_user_cpu:.2f} | {len(sample) / per_user_cpu:,.0f} | - | - |"
        )
        print(
            f"\ndigest / per-user: {digest_rate / single_rate:.1f}x; lists identical on the "
            f"sample: {same}/{len(sample)}; mean top-10 overlap {overlap:.3f}"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
