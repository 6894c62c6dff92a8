"""`Engine.reembed` of a catalog: the whole run, and each durable batch (the time between two
progress reports), median and p99.

The store starts with the hashing-16 model; each run switches it to another model. Run it
against another checkout (``PYTHONPATH=../other/src``) to compare before and after.

    python bench/reembed.py [--items 2000] [--models hashing-64,minilm] [--batch 256]
        [--postgres URL]   # a new database on that server for each model
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from likewise import Engine, Settings
from likewise.embedders import get_embedder

WORDS = ["moon", "rocket", "pasta", "tomato", "garden", "river", "violin", "market", "winter"]
WORDS += ["summer", "castle"]


def catalog(n: int) -> list[dict[str, object]]:
    """`n` items with a few words of text each, varied enough that no two are alike."""
    return [
        {
            "id": f"i{k:05d}",
            "title": f"{WORDS[k % 11]} {WORDS[(k * 7) % 11]} number {k}",
            "body": " ".join(WORDS[(k + j) % 11] for j in range(k % 9 + 3)),
            "category": "abc"[k % 3],
        }
        for k in range(n)
    ]


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def run(location: str, model: str, items: int, batch: int) -> tuple[float, list[float]]:
    settings = Settings(batch_size=batch)
    with Engine.open(location, model="hashing-16", settings=settings) as engine:
        engine.add_items(catalog(items))
    embedder = get_embedder(model)  # loaded before the clock starts
    stamps: list[float] = []
    with Engine.open(location, model="hashing-16", settings=settings) as engine:
        start = time.perf_counter()
        engine.reembed(embedder, progress=lambda _: stamps.append(time.perf_counter()))
        total = time.perf_counter() - start
    marks = [start, *stamps]
    return total, [b - a for a, b in itertools.pairwise(marks)]


@contextmanager
def fresh(server: str | None) -> Iterator[str]:
    """A new, empty store: a temporary folder, or a database made on `server` (dropped)."""
    if server is None:
        folder = Path(tempfile.mkdtemp(prefix="likewise-reembed-"))
        try:
            yield str(folder / "data")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    import psycopg

    name = f"likewise_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--models", default="hashing-64,minilm")
    parser.add_argument("--batch", type=int, default=256, help="the batch_size setting")
    parser.add_argument("--postgres", help="a PostgreSQL server URL; default: a temp dir")
    args = parser.parse_args()
    print(f"reembed of {args.items} items from hashing-16, batch_size {args.batch}")
    print(
        f"{'model':<12} {'total s':>8} {'items/s':>8} {'batches':>8} {'median ms':>10} "
        f"{'p99 ms':>8}"
    )
    for model in args.models.split(","):
        with fresh(args.postgres) as location:
            total, batches = run(location, model, args.items, args.batch)
        ms = [1000 * b for b in batches] or [0.0]
        print(
            f"{model:<12} {total:>8.2f} {args.items / total:>8.0f} {len(batches):>8} "
            f"{statistics.median(ms):>10.1f} {p99(ms):>8.1f}"
        )


if __name__ == "__main__":
    main()
