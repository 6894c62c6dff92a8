"""The Milvus half of `bench/search.py --backend milvus`: a server, each size's location, and
the table beside the embedded store and PostgreSQL.

The server is the one `LIKEWISE_BENCH_MILVUS_URL` names (``milvus://host:port``), or one
started from the `milvus` package with `proxy.timeTickInterval: 20`, the setting
`likewise/store/milvus/collections.py` recommends (strong reads wait for that tick). After the
build, the collection is flushed and the bench waits until the query node serves it from
sealed, HNSW-indexed segments, as a catalog that has settled is served; a search of freshly
written vectors scans them instead.
"""

from __future__ import annotations

import gc
import os
import shutil
import socket
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

__all__ = ["TICK_MS", "location", "milvus_server", "print_beside", "settle"]

TICK_MS = 20
LEVELS = ("strong", "session")  # read levels queried over the one build


@contextmanager
def milvus_server() -> Iterator[str]:
    """A `milvus://host:port`: LIKEWISE_BENCH_MILVUS_URL, or a server started here."""
    if os.environ.get("LIKEWISE_BENCH_MILVUS_URL"):
        yield os.environ["LIKEWISE_BENCH_MILVUS_URL"]
        return
    with warnings.catch_warnings():  # milvus and pymilvus import pkg_resources
        warnings.simplefilter("ignore")
        from milvus import MilvusServer

    folder = tempfile.mkdtemp(prefix="likewise-bench-milvus-")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = MilvusServer()
    server.set_base_dir(folder)
    server.listen_port = port
    server.config.set("proxy.timeTickInterval", TICK_MS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            server.start()
            gc.collect()
        yield f"milvus://127.0.0.1:{port}"
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def location(database: str, milvus: str, n: int, level: str = "strong") -> str:
    """The store's location: `database` with its vectors in collections `bench{n}_*`."""
    sep = "&" if urlsplit(database).query else "?"
    return f"{database}{sep}vectors={milvus}/bench{n}?consistency={level}"


def settle(milvus: str, n: int, timeout: float = 1800.0) -> float:
    """Flush the text collection and wait until its `n` rows are served from indexed sealed
    segments; returns the seconds it took."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pymilvus import MilvusClient, connections, utility

    uri = milvus.replace("milvus://", "http://")
    name = f"bench{n}_text"
    start = time.perf_counter()
    client = MilvusClient(uri=uri)
    connections.connect("bench", uri=uri)
    try:
        client.flush(name)
        while time.perf_counter() - start < timeout:
            index = client.describe_index(name, "vector")
            segments = utility.get_query_segment_info(name, using="bench")
            served = sum(s.num_rows for s in segments if s.index_name and s.state == 3)
            if index["indexed_rows"] >= n and index["pending_index_rows"] == 0 and served >= n:
                return time.perf_counter() - start
            time.sleep(2)
        raise TimeoutError(f"{name}: not indexed and served after {timeout:.0f} s")
    finally:
        connections.disconnect("bench")
        client.close()


def print_beside(results: dict[str, dict[int, Any]], n: int) -> None:
    """Milvus (each read level) beside the embedded store and PostgreSQL at size `n`."""
    names = [b for b in results if n in results[b]]
    print(f"\n## N = {n:,}: {', '.join(names)} (same vectors and queries; p50 / p99 ms, recall@10)")
    print("| filter | " + " | ".join(names) + " |")
    print("| --- |" + " ---: |" * len(names))
    rows = results["embedded"][n]["rows"]
    for name in rows:
        cells = [results[b][n]["rows"][name] for b in names]
        print(
            f"| {name} | "
            + " | ".join(f"{c['p50_ms']:.2f} / {c['p99_ms']:.2f}, {c['recall']:.3f}" for c in cells)
            + " |"
        )
    similar = [results[b][n]["similar"] for b in names]
    print(
        "| similar by id | "
        + " | ".join(f"{s['p50_ms']:.2f} / {s['p99_ms']:.2f}" for s in similar)
        + " |"
    )
    sys.stdout.flush()


def run(
    database: str,
    milvus: str,
    n: int,
    results: dict[str, dict[int, Any]],
    run_child: Callable[..., dict[str, Any]],
    print_size: Callable[..., None],
) -> dict[str, dict[int, Any]]:
    """Build once into PostgreSQL + Milvus (bench/search.py's `run_child`), let Milvus index
    it, and query it at each read level: {"milvus": {n: ...}, "milvus-session": {n: ...}}."""
    print(f"N={n:,} milvus: building ...", file=sys.stderr, flush=True)
    built = run_child("build", location(database, milvus, n), n)
    built["settle_s"] = settle(milvus, n)
    out: dict[str, dict[int, Any]] = {}
    for level in LEVELS:
        name = "milvus" if level == "strong" else f"milvus-{level}"
        print(f"N={n:,} {name}: querying ...", file=sys.stderr, flush=True)
        out[name] = {
            **results.get(name, {}),
            n: {**built, **run_child("query", location(database, milvus, n, level), n)},
        }
        print_size(n, out[name][n], f"{name} (settled in {built['settle_s']:.0f} s)")
    return out
