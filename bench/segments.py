"""Users' properties and segments on the embedded store: how fast properties load, how fast
a segment's users are listed (what a newsletter over a segment reads), what a per-segment
CTR report costs, and what a segment-targeted context rule adds to a "for you" list (its
first list reads the user's segments, the next ones take them from the per-user cache).

    python bench/segments.py [--users 100000] [--lists 20000]

Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from likewise import Engine
from likewise.ranking.context import parse_rules

COUNTRIES = ["DE", "AT", "CH", "FR", "IT", "ES", "NL", "PL"]
PLANS = ["free", "plus", "premium"]
SEGMENTS = {
    "premium": {"plan": "premium"},
    "dach": {"country": {"in": ["DE", "AT", "CH"]}},
    "dach-premium": {"plan": "premium", "country": {"in": ["DE", "AT", "CH"]}},
    "young": {"age": {"lt": 30}},
    "newsletter": {"newsletter": True},
}
RULES = [{"when": {"segment": "premium"}, "boost": {"category": "a"}, "weight": 0.3}]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--lists", type=int, default=20_000, help="impressions to report on")
    args = parser.parse_args()
    rng = random.Random(7)
    records = [
        {
            "id": f"u{k:07d}",
            "properties": {
                "country": rng.choice(COUNTRIES),
                "plan": rng.choice(PLANS),
                "age": rng.randint(16, 80),
                "newsletter": rng.random() < 0.4,
            },
        }
        for k in range(args.users)
    ]
    folder = Path(tempfile.mkdtemp(prefix="likewise-bench-segments-")) / "data"
    rows: list[tuple[str, str]] = []
    with Engine.open(str(folder), model="hashing-64") as engine:
        engine.add_items(
            [
                {"id": f"i{k}", "title": f"item {k} words", "category": "ab"[k % 2]}
                for k in range(500)
            ]
        )
        loaded = timed(
            lambda: [
                engine.set_many_user_properties(records[s : s + 1000])
                for s in range(0, len(records), 1000)
            ]
        )
        rows.append(("load properties", f"{args.users / loaded:,.0f} users/s ({loaded:.1f} s)"))
        for name, where in SEGMENTS.items():
            engine.create_segment(name, where)
        found = 0

        def listing() -> None:
            nonlocal found
            found = sum(1 for _ in engine.segment_users("dach-premium"))

        took = timed(listing)
        rows.append(
            ("segment_users (dach-premium)", f"{found:,} of {args.users:,} in {took:.2f} s "
             f"({args.users / took:,.0f} users scanned/s)")
        )  # fmt: skip
        for k in range(args.lists):
            user = records[rng.randrange(args.users)]["id"]
            rec = engine.track(user, "ema", ["i1"])
            if k % 7 == 0:
                engine.record(user, "i1", "click", recommendation_id=rec)
        took = timed(lambda: engine.ctr_report(group_by="segment"))
        rows.append((f"ctr_report by segment ({args.lists:,} lists)", f"{took * 1000:,.0f} ms"))
        for user in (records[k]["id"] for k in range(100)):
            engine.record(user, "i3", "like")
        # The same users' lists without and with a rule naming a segment, each list made once
        # (first: computed, the segments read) and asked again (from the caches).
        for label, rules, users in (("no segment rule", [], 0), ("segment rule", RULES, 50)):
            engine.personal.ranker.rules = parse_rules(rules)
            first, again = [], []
            for user in (records[k]["id"] for k in range(users, users + 50)):
                first.append(timed(lambda u=user: engine.recommend(u, n=10, track=False)))
                again.append(timed(lambda u=user: engine.recommend(u, n=10, track=False)))
            rows.append(
                (f"recommend, {label}", f"p50 {statistics.median(first) * 1000:.2f} ms made, "
                 f"{statistics.median(again) * 1000:.3f} ms again")
            )  # fmt: skip
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  result")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
