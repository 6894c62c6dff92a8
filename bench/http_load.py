"""The HTTP API under load on loopback: one uvicorn worker, 16 keep-alive connections.

A store of N clustered synthetic items (as in bench/events.py) and U users with a history of
events. For each endpoint, a load generator (raw asyncio sockets, one process) keeps 16
connections busy for `--seconds` and records every latency. The baseline is a trivial
endpoint of the same app (`/healthz`) in the same run: what the framework and the client
cost before likewise does any work. The client shares the 2 cores with the server. Users are
drawn from 5,000 ids, so repeated questions meet the cache of hot results; with `--uncached`
the server runs with no cache (`LIKEWISE_CACHE_SIZE=0`), so every list is computed, and the
table holds the uncached recommend against `/healthz` of the same run (issue 23: >= 0.2x).

With `--client`, a second table: the same server called sequentially from this process, each
endpoint through `likewise.Client` and through a bare `httpx.Client` in turn (the same
question to each, which goes first alternating, as the second may meet a cached answer),
with the median and p99 of each and the client's overhead per call (the difference of the
medians: what turning JSON into the Engine's types and checking the answer costs).
Target: at most 0.2 ms per call.

With `--servers 2`, two servers on one PostgreSQL primary and one streaming replica instead
(bench/http_shared.py): throughput and p99 with both loaded, and how long a write through
one takes to drop the other's cached list (median, p99).

    python bench/http_load.py [--items 100000] [--users 10000] [--seconds 15] [--client]
    python bench/http_load.py --uncached
    python bench/http_load.py --servers 2 [--probes 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from events import build, event
from likewise import Client, Engine

CONNECTIONS = 16


async def connection(
    port: int, paths: list[bytes], stop: float, out: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    k = 0
    while time.perf_counter() < stop:
        path = paths[k % len(paths)]
        k += 1
        start = time.perf_counter()
        writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: bench\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        out.append((time.perf_counter() - start) * 1000)
        if not head.startswith(b"HTTP/1.1 200"):
            errors.append(int(head[9:12]))
    writer.close()


async def load(port: int, paths: list[bytes], seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[int] = []
    stop = time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(
        *[
            connection(port, paths[k::CONNECTIONS] or paths, stop, latencies, errors)
            for k in range(CONNECTIONS)
        ]
    )
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(latencies, 50)),
        "p99_ms": float(np.percentile(latencies, 99)),
        "errors": len(errors),
    }


def cache_hits(port: int) -> float:
    """Lists served from the cache so far, every strategy's (and an older server's unlabelled
    count)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(
            (
                "likewise_recommendation_cache_hits_total ",
                "likewise_recommendation_cache_hits_total{",
            )
        )
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=10, help="events per user")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument(
        "--client", action="store_true", help="also time likewise.Client against bare httpx"
    )
    parser.add_argument(
        "--uncached", action="store_true", help="serve with no cache of hot results"
    )
    parser.add_argument("--servers", type=int, choices=(1, 2), default=1)
    parser.add_argument("--probes", type=int, default=200, help="invalidations timed (--servers 2)")
    args = parser.parse_args()
    if args.servers == 2:
        from http_shared import run

        return run(args, load, free_port)
    folder = Path(tempfile.mkdtemp(prefix="likewise-bench-http-"))
    data = folder / "data"
    rng = random.Random(11)
    server = None
    try:
        print(f"building {args.items:,} items and a history ...", file=sys.stderr, flush=True)
        build(data, args.items)
        with Engine.open(str(data)) as engine:
            rows = [event(rng, args.users, args.items, k) for k in range(args.users * args.history)]
            for lo in range(0, len(rows), 1000):
                engine.record_many(rows[lo : lo + 1000])
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "likewise.cli.main",
                "--data",
                str(data),
                "serve",
                "--port",
                str(port),
                # No access line per request, so figures compare with runs before the log.
                "--log-level",
                "warning",
            ],
            stderr=subprocess.DEVNULL,
            env={**os.environ, **({"LIKEWISE_CACHE_SIZE": "0"} if args.uncached else {})},
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        users = [f"u{rng.randrange(args.users)}" for _ in range(5000)]
        items = [f"i{rng.randrange(args.items)}" for _ in range(5000)]
        uncached = " (uncached)" if args.uncached else ""
        cases = {
            "GET /healthz (baseline)": [b"/healthz"],
            f"GET /v1/items/{{id}}/similar{uncached}": [
                f"/v1/items/{i}/similar?n=10".encode() for i in items
            ],
            f"GET /v1/users/{{id}}/recommendations{uncached}": [
                f"/v1/users/{u}/recommendations?n=10".encode() for u in users
            ],
        }
        results = {}
        for name, paths in cases.items():
            print(f"loading {name} for {args.seconds:.0f} s ...", file=sys.stderr, flush=True)
            asyncio.run(load(port, paths[:200], 2.0))  # warm up
            before = cache_hits(port)
            results[name] = asyncio.run(load(port, paths, args.seconds))
            results[name]["cache_hits"] = cache_hits(port) - before
        if args.client:
            calls = sequential(port, items, users, args.seconds)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
    report(args, results)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    name = "http_uncached.json" if args.uncached else "http.json"
    (out / name).write_text(json.dumps(results, indent=2))
    if args.client:
        report_client(calls)
        (out / "http_client.json").write_text(json.dumps(calls, indent=2))


def report(args: Any, results: dict[str, dict[str, float]]) -> None:
    base = results["GET /healthz (baseline)"]["rps"]
    print(
        f"\n## HTTP, one uvicorn worker, {CONNECTIONS} connections, {args.items:,} items, "
        f"{args.users:,} users, {args.seconds:.0f} s each"
    )
    print("| endpoint | req/s | p50 ms | p99 ms | non-200 | cache hits | req/s vs baseline |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        hits = f"{r['cache_hits'] / r['requests']:.0%}" if r["cache_hits"] else "-"
        print(
            f"| {name} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{r['errors']} | {hits} | {r['rps'] / base:.2f} |"
        )
    if args.uncached:
        print("\nTarget (issue 23): uncached recommend >= 0.2x the trivial endpoint.")
    else:
        print("\nTargets: recommend >= 800 req/s, p99 <= 25 ms, >= 0.4x the trivial endpoint.")


Call = Any  # (item id, user id, k) -> anything


def sequential(
    port: int, items: list[str], users: list[str], seconds: float
) -> dict[str, dict[str, float]]:
    """Per endpoint, for `seconds`: one call through the client, then one through bare
    httpx, and again; the latencies of each (ms), after a warm-up of both."""
    base = f"http://127.0.0.1:{port}"
    with Client(base, timeout=30) as client, httpx.Client(base_url=base, timeout=30) as raw:

        def get(path: str, **params: Any) -> Any:
            answer = raw.get(path, params=params)
            answer.raise_for_status()
            return answer.json()

        def post(path: str, body: Any) -> Any:
            answer = raw.post(path, json=body)
            answer.raise_for_status()
            return answer.json()

        click = {"type": "click", "timestamp": 1_800_000_000}
        cases: dict[str, tuple[Call, Call]] = {
            "GET /v1/items/{id}/similar": (
                lambda i, u, k: client.similar(i, n=10),
                lambda i, u, k: get(f"/v1/items/{i}/similar", n=10),
            ),
            "GET /v1/users/{id}/recommendations": (
                lambda i, u, k: client.recommend(u, n=10),
                lambda i, u, k: get(f"/v1/users/{u}/recommendations", n=10),
            ),
            "GET /v1/popular": (
                lambda i, u, k: client.popular(n=10),
                lambda i, u, k: get("/v1/popular", n=10),
            ),
            "GET /v1/items/{id}": (
                lambda i, u, k: client.get(i),
                lambda i, u, k: get(f"/v1/items/{i}"),
            ),
            "POST /v1/search": (
                lambda i, u, k: client.search(f"item {k}", n=10),
                lambda i, u, k: post("/v1/search", {"text": f"item {k}", "n": 10}),
            ),
            "POST /v1/events": (
                lambda i, u, k: client.record(
                    u, i, "click", timestamp=1_800_000_000, event_id=f"c{k}"
                ),
                lambda i, u, k: post(
                    "/v1/events", {"user_id": u, "item_id": i, **click, "event_id": f"r{k}"}
                ),
            ),
        }
        out: dict[str, dict[str, float]] = {}
        for name, (through_client, through_httpx) in cases.items():
            print(f"calling {name} for {seconds:.0f} s ...", file=sys.stderr, flush=True)
            times: dict[str, list[float]] = {"client": [], "httpx": []}
            for k in range(-50, 0):  # a warm-up of both, not timed
                through_client(items[k], users[k], k)
                through_httpx(items[k], users[k], k)
            stop = time.perf_counter() + seconds
            k = 0
            while time.perf_counter() < stop:
                item, user = items[k % len(items)], users[k % len(users)]
                pair = [("client", through_client), ("httpx", through_httpx)]
                for mode, call in pair if k % 2 else pair[::-1]:  # the second meets a warm cache
                    start = time.perf_counter()
                    call(item, user, k)
                    times[mode].append((time.perf_counter() - start) * 1000)
                k += 1
            out[name] = {
                f"{mode}_{q}": float(np.percentile(ms, p))
                for mode, ms in times.items()
                for q, p in (("p50_ms", 50), ("p99_ms", 99))
            }
            out[name]["calls"] = len(times["client"])
    return out


def report_client(calls: dict[str, dict[str, float]]) -> None:
    print("\n## likewise.Client against bare httpx: sequential calls, one process, same server")
    print(
        "| endpoint | calls each | httpx p50 ms | httpx p99 ms | Client p50 ms | Client p99 ms "
        "| overhead per call (p50) ms |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in calls.items():
        overhead = r["client_p50_ms"] - r["httpx_p50_ms"]
        print(
            f"| {name} | {r['calls']:,.0f} | {r['httpx_p50_ms']:.3f} | {r['httpx_p99_ms']:.3f} | "
            f"{r['client_p50_ms']:.3f} | {r['client_p99_ms']:.3f} | {overhead:+.3f} |"
        )
    print("\nTarget: the client's overhead is at most 0.2 ms per call.")


if __name__ == "__main__":
    main()
