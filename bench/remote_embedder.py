"""The OpenAI-compatible embedder's own overhead: items per second through the fake server on
loopback, one request in flight against four.

This measures the client (request building, JSON decoding, checking, threads) and the fake,
not OpenAI: a real server's latency and rate limits decide real throughput. `--latency`
adds a fixed wait per request to the fake, which is what concurrency exists to hide. The fake
runs in its own process (`tests/fake_openai.py`), so it does not share this interpreter.

    python bench/remote_embedder.py
    python bench/remote_embedder.py --latency 0.05 --concurrency 1 4 16
"""

from __future__ import annotations

import sys

# bench/ holds http.py: first on sys.path it would shadow the standard library's `http`.
sys.path.append(sys.path.pop(0))

import argparse
import os
import statistics
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from likewise.embedders.base import Vectors
from likewise.embedders.openai import OpenAIEmbedder

ROOT = Path(__file__).resolve().parents[1]


class Timed(OpenAIEmbedder):
    """An OpenAIEmbedder that keeps each request's wall time."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.times: list[float] = []
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        start = time.perf_counter()
        try:
            return super().embed_batch(texts)
        finally:
            self.times.append(time.perf_counter() - start)


def run(url: str, items: list[str], args: argparse.Namespace, concurrency: int) -> dict[str, float]:
    embedder = Timed(
        "text-embedding-3-small",
        base_url=url,
        dimensions=args.dim,
        batch_size=args.batch_size,
        concurrency=concurrency,
    )
    embedder.embed(items[:10])  # connections opened before the clock starts
    embedder.times.clear()
    rates = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        vectors = embedder.embed(items)
        rates.append(len(items) / (time.perf_counter() - start))
        assert vectors.shape == (len(items), args.dim) and np.isfinite(vectors).all()
    ms = sorted(t * 1000 for t in embedder.times)
    return {
        "items_s": statistics.median(rates),
        "median_ms": statistics.median(ms),
        "p99_ms": ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))],
    }


@contextmanager
def fake_server(latency: float) -> Iterator[str]:
    """The fake (tests/fake_openai.py) in its own process, waiting `latency` s per request;
    yields its URL."""
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "fake_openai.py"), "--delay", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    try:
        assert server.stdout is not None
        yield server.stdout.readline().strip()
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64, help="texts per request")
    parser.add_argument("--dim", type=int, default=256, help="dimensions asked for")
    parser.add_argument("--latency", type=float, default=0.0, help="the fake's wait per request")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--repeat", type=int, default=5, help="runs per setting (median)")
    args = parser.parse_args()
    items = [
        f"item {k}: a product about topic {k % 37} with words {k * 7919 % 1000}"
        for k in range(args.items)
    ]
    with fake_server(args.latency) as url:
        print(
            f"{args.items} items, {args.batch_size} a request, {args.dim}-d, fake latency "
            f"{args.latency * 1000:.0f} ms (the client's overhead through a loopback fake, "
            "not OpenAI's speed)"
        )
        print(f"{'concurrency':>11} {'items/s':>9} {'batch median ms':>16} {'batch p99 ms':>13}")
        results = {}
        for concurrency in args.concurrency:
            results[concurrency] = r = run(url, items, args, concurrency)
            print(
                f"{concurrency:>11} {r['items_s']:>9.0f} {r['median_ms']:>16.1f} "
                f"{r['p99_ms']:>13.1f}"
            )
        base = results[args.concurrency[0]]["items_s"]
        for concurrency in args.concurrency[1:]:
            ratio = results[concurrency]["items_s"] / base
            print(f"throughput at {concurrency} / at {args.concurrency[0]}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
