"""Events recorded after `train`, on any revision: the like-for-like rate with a model.

20k synthetic items (as bench/events.py builds them), 2k users; events in batches of 1,000
before `train` and after it (the model loaded, so the item-kNN overlay is fed as it would be
on a server). Run it on two revisions to compare them, e.g.

    git worktree add /tmp/old REV
    PYTHONPATH=/tmp/old/src:bench python bench/record_trained.py
    PYTHONPATH=src:bench python bench/record_trained.py
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from pathlib import Path

from events import build, event
from likewise import Engine, Settings


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="likewise-bench-trained-"))
    try:
        build(folder / "data", 20_000)
        engine = Engine.open(str(folder / "data"), settings=Settings(cache_size=0))
        rng = random.Random(5)
        rows = [event(rng, 2_000, 20_000, k) for k in range(80_000)]

        def rate(lo: int, hi: int) -> tuple[float, float]:
            """Events per second of wall time, and per second of this process's CPU time
            (steadier when other work shares the machine; fsync waits are not in it)."""
            started, cpu = time.perf_counter(), time.process_time()
            for start in range(lo, hi, 1_000):
                engine.record_many(rows[start : start + 1_000])
            wall = time.perf_counter() - started
            return (hi - lo) / wall, (hi - lo) / (time.process_time() - cpu)

        untrained = [rate(0, 30_000), rate(30_000, 40_000)]
        engine.train()
        engine.recommend("u1", n=10, strategy="hybrid", track=False)  # loads the model
        trained = [rate(40_000, 60_000), rate(60_000, 80_000)]
        engine.close()
        print(
            "| events/s, batches of 1,000 | first | second | first, per CPU s | second, per CPU s |"
        )
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, (a, b) in (("before train", untrained), ("after train", trained)):
            print(f"| {name} | {a[0]:,.0f} | {b[0]:,.0f} | {a[1]:,.0f} | {b[1]:,.0f} |")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
