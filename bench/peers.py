"""The peers `bench/search.py --peers` runs beside likewise: faiss HNSW alone, hnswlib, Qdrant's
embedded engine (qdrant-edge). pgvector runs through the store's PostgreSQL backend and exact
numpy inside likewise's query child, both in search.py.

Each peer gets what likewise gets: the same vectors (written as they are generated, in chunks,
so the build child's peak RSS is the peer's), the same HNSW shape (M = 32, and likewise's build
beam: efConstruction 64, 128 for a batch that takes the index past 20k; hnswlib and Qdrant take
one beam for a whole build, 128 from 20k vectors), one fixed search beam (`--peer-ef`), one thread
per query, and the same filters (`bucket < k`) in each one's own way: faiss a bitmap
`IDSelector` (made once per filter, outside the timing), hnswlib a Python callable (its only
filter), Qdrant an integer payload index and a range condition. Each is an optional bench
dependency (`pip install -e ".[bench]"`); a missing one is skipped with a
note. The ground truth is the exact top 10 likewise's query child computed in the same run.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from likewise.store.embedded.ann import AnnConfig

__all__ = ["PEERS", "build", "missing", "query"]

M = 32
BEAM = AnnConfig()  # likewise's build beam, by the size of the index (`construction_ef`)
PEERS = {"faiss": "faiss", "hnswlib": "hnswlib", "qdrant": "qdrant_edge"}
Chunks = Iterator[tuple[int, np.ndarray[Any, np.dtype[np.float32]]]]


def missing(name: str) -> str | None:
    """Why the peer cannot run here (its module is not installed), or None."""
    module = PEERS[name]
    if importlib.util.find_spec(module) is None:
        return f"{name}: skipped, `{module}` is not installed (pip install -e '.[bench]')"
    return None


def rss_now_mb() -> float:
    """The resident set now (ru_maxrss is the peak; after an open the current one matters)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# -- building: one child process each ---------------------------------------------------------


def build(name: str, path: str, n: int, chunks: Chunks, bucket: np.ndarray[Any, Any]) -> float:
    """Build the peer's index of `n` vectors at `path`; returns the seconds spent in the peer
    (generating the vectors is not counted)."""
    builder = {"faiss": _build_faiss, "hnswlib": _build_hnswlib, "qdrant": _build_qdrant}[name]
    return builder(path, n, chunks, bucket)


def _new_faiss(dim: int) -> Any:
    import faiss

    index = faiss.IndexHNSWFlat(dim, M, faiss.METRIC_INNER_PRODUCT)
    return index


def _timed_chunks(chunks: Chunks, use: Callable[[int, np.ndarray[Any, Any]], None]) -> float:
    spent = 0.0
    for start, data in chunks:
        t0 = time.perf_counter()
        use(start, data)
        spent += time.perf_counter() - t0
    return spent


def _build_faiss(path: str, n: int, chunks: Chunks, bucket: np.ndarray[Any, Any]) -> float:
    import faiss

    index: Any = None

    def add(start: int, data: np.ndarray[Any, Any]) -> None:
        nonlocal index
        index = _new_faiss(data.shape[1]) if index is None else index
        index.hnsw.efConstruction = BEAM.construction_ef(index.ntotal + len(data))
        index.add(data)

    spent = _timed_chunks(chunks, add)
    t0 = time.perf_counter()
    faiss.write_index(index, os.path.join(path, "index.faiss"))
    return spent + time.perf_counter() - t0


def _build_hnswlib(path: str, n: int, chunks: Chunks, bucket: np.ndarray[Any, Any]) -> float:
    import hnswlib

    index: Any = None

    def add(start: int, data: np.ndarray[Any, Any]) -> None:
        nonlocal index
        if index is None:
            index = hnswlib.Index(space="ip", dim=data.shape[1])
            index.init_index(max_elements=n, ef_construction=BEAM.construction_ef(n), M=M)
        index.add_items(data, np.arange(start, start + len(data)))

    spent = _timed_chunks(chunks, add)
    t0 = time.perf_counter()
    index.save_index(os.path.join(path, "index.hnswlib"))
    return spent + time.perf_counter() - t0


def _build_qdrant(path: str, n: int, chunks: Chunks, bucket: np.ndarray[Any, Any]) -> float:
    import qdrant_edge as q

    shard: Any = None

    def add(start: int, data: np.ndarray[Any, Any]) -> None:
        nonlocal shard
        if shard is None:
            config = q.EdgeConfig(
                vectors=q.EdgeVectorParams(size=data.shape[1], distance=q.Distance.Cosine),
                hnsw_config=q.HnswIndexConfig(
                    m=M, ef_construct=BEAM.construction_ef(n), full_scan_threshold=10_000
                ),
            )
            shard = q.EdgeShard.create(os.path.join(path, "shard"), config)
            integer = q.PayloadSchemaType.Integer
            shard.update(q.UpdateOperation.create_field_index("bucket", integer))
        for sub in range(0, len(data), 2_000):
            points = [
                q.Point(k, data[k - start].tolist(), {"bucket": int(bucket[k])})
                for k in range(start + sub, start + min(len(data), sub + 2_000))
            ]
            shard.update(q.UpdateOperation.upsert_points(points))

    spent = _timed_chunks(chunks, add)
    t0 = time.perf_counter()
    shard.optimize()  # builds the HNSW graphs (blocking)
    shard.flush()
    shard.close()
    return spent + time.perf_counter() - t0


# -- querying: a fresh child process each ----------------------------------------------------


def query(
    name: str,
    path: str,
    queries: np.ndarray[Any, Any],
    bucket: np.ndarray[Any, Any],
    truth: dict[str, np.ndarray[Any, Any]],
    selectivity: dict[str, int | None],
    ef: int,
) -> dict[str, Any]:
    """Open the peer's index and run every query at every selectivity: open time, RSS after
    open, p50/p99 and recall@10 against `truth` (labels by selectivity name)."""
    start = time.perf_counter()
    opener = {"faiss": _faiss, "hnswlib": _hnswlib, "qdrant": _qdrant}[name]
    searcher = opener(path, ef, queries.shape[1])
    out: dict[str, Any] = {"open_s": time.perf_counter() - start, "open_rss_mb": rss_now_mb()}
    out["rows"] = {}
    for label, below in selectivity.items():
        search = searcher(None if below is None else bucket < below, below)
        for q in queries[:20]:
            search(q)
        times, found = [], []
        for q in queries:
            t0 = time.perf_counter()
            got = search(q)
            times.append(time.perf_counter() - t0)
            found.append(got)
        recall = [
            len(set(f) & set(t.tolist())) / 10 for f, t in zip(found, truth[label], strict=True)
        ]
        out["rows"][label] = {
            "p50_ms": 1e3 * float(np.median(times)),
            "p99_ms": 1e3 * float(np.percentile(times, 99)),
            "recall": float(np.mean(recall)),
        }
    out["query_rss_mb"] = rss_now_mb()
    return out


Search = Callable[[np.ndarray[Any, Any]], list[int]]
Searcher = Callable[[np.ndarray[Any, Any] | None, int | None], Search]


def _faiss(path: str, ef: int, dim: int) -> Searcher:
    import faiss

    faiss.omp_set_num_threads(1)  # as likewise runs a query
    index = faiss.read_index(os.path.join(path, "index.faiss"))

    def make(mask: np.ndarray[Any, Any] | None, below: int | None) -> Search:
        bits = None if mask is None else np.packbits(mask, bitorder="little")
        sel = None if bits is None else faiss.IDSelectorBitmap(bits)
        params = faiss.SearchParametersHNSW(efSearch=ef, sel=sel)

        def search(q: np.ndarray[Any, Any]) -> list[int]:
            _, labels = index.search(q.reshape(1, -1), 10, params=params)
            return [int(x) for x in labels[0] if x >= 0]

        search.keep = (bits, sel)  # type: ignore[attr-defined]  # the selector reads `bits`
        return search

    return make


def _hnswlib(path: str, ef: int, dim: int) -> Searcher:
    import hnswlib

    index = hnswlib.Index(space="ip", dim=dim)
    index.load_index(os.path.join(path, "index.hnswlib"))
    index.set_ef(ef)
    index.set_num_threads(1)

    def make(mask: np.ndarray[Any, Any] | None, below: int | None) -> Search:
        allowed = None if mask is None else mask.tolist()
        accept = None if allowed is None else allowed.__getitem__

        def search(q: np.ndarray[Any, Any]) -> list[int]:
            try:
                labels, _ = index.knn_query(q, k=10, filter=accept)
            except RuntimeError:  # fewer than 10 reachable under the filter
                return []
            return [int(x) for x in labels[0]]

        return search

    return make


def _qdrant(path: str, ef: int, dim: int) -> Searcher:
    import qdrant_edge as q

    shard = q.EdgeShard.load(os.path.join(path, "shard"))
    params = q.SearchParams(hnsw_ef=ef)

    def make(mask: np.ndarray[Any, Any] | None, below: int | None) -> Search:
        condition = q.FieldCondition(key="bucket", range=q.RangeFloat(lt=float(below or 0)))
        where = None if below is None else q.Filter(must=[condition])

        def search(vector: np.ndarray[Any, Any]) -> list[int]:
            request = q.QueryRequest(
                limit=10, query=q.Query.Nearest(vector.tolist()), filter=where, params=params
            )
            return [int(p.id) for p in shard.query(request)]

        return search

    return make


# -- the table ---------------------------------------------------------------------------------

NAMES = {
    "faiss": "faiss HNSW alone",
    "hnswlib": "hnswlib (callable filter)",
    "qdrant": "qdrant-edge (payload index)",
}


def table(n: int, dim: int, ours: dict[str, dict[str, Any]], peers: dict[str, Any], ef: int) -> str:
    """One markdown table: likewise, then each peer, then exact numpy, from one run.

    Build is the seconds spent building (likewise's includes its SQLite writes and the save);
    memory is the build child's peak RSS and the query child's RSS right after open (for
    likewise on pgvector, the client's: the server's is not counted)."""
    head = f"\n## N = {n:,} x {dim}: likewise beside the peers (one run; peers at ef {ef})\n"
    head += "| system | build s | build peak RSS MB | open s | RSS after open MB |"
    head += " 100% p50 / p99 ms, recall | 50% | 10% | 1% |\n"
    head += "| --- | ---: | ---: | ---: | ---: | --- | --- | --- | --- |\n"
    lines = []
    for name, r in ours.items():
        built = r["build_s"] + r.get("save_s", 0.0)
        memory = f"{r['build_peak_rss_mb']:,.0f} | {r['open_s']:.2f} | "
        memory += f"{r.get('open_rss_now_mb', r['open_rss_mb']):,.0f}"
        lines.append(f"| {name} | {built:.1f} | {memory} | {_cells(r['rows'])} |")
    for name, r in peers.items():
        memory = f"{r['build_peak_rss_mb']:,.0f} | {r['open_s']:.2f} | {r['open_rss_mb']:,.0f}"
        lines.append(f"| {NAMES[name]} | {r['build_s']:.1f} | {memory} | {_cells(r['rows'])} |")
    first = next(iter(ours.values()))
    exact = {
        k: {"p50_ms": v["numpy_p50_ms"], "p99_ms": v.get("numpy_p99_ms", 0.0), "recall": 1.0}
        for k, v in first["rows"].items()
    }
    size = n * dim * 4 / 2**20
    lines.append(f"| exact numpy (mask given) | 0 | {size:,.0f} (array) | | | {_cells(exact)} |")
    return head + "\n".join(lines)


def _cells(rows: dict[str, dict[str, float]]) -> str:
    return " | ".join(
        f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}, {r['recall']:.3f}" for r in rows.values()
    )


def folder_size_mb(path: str) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20


LEFT_OUT = {  # at 1M and more, unless named: measured on this kind of 2-core machine
    "qdrant": "its build took 1,570 s and 9.6 GB at 1M",
    "pgvector": "its HNSW build takes hours at 1M on 2 cores",
}


def run_all(
    chosen: list[str], n: int, truth: str, ef: int, run_child: Callable[..., dict[str, Any]]
) -> dict[str, Any]:
    """Build and query each chosen peer (all installed ones if none is named) in children
    (bench/search.py's `run_child`)."""
    out: dict[str, Any] = {}
    for name, why in LEFT_OUT.items():
        runs = name in chosen or (not chosen and name == "pgvector")  # `--peers` alone: all
        if n >= 1_000_000 and not runs:
            print(f"N={n:,} {name}: not run at this size ({why}); name it to run it")
    for name in chosen or list(PEERS):
        if name not in PEERS:
            continue  # pgvector and numpy ran with likewise
        if not chosen and name == "qdrant" and n >= 1_000_000:
            continue
        if note := missing(name):
            print(f"N={n:,} {note}")
            continue
        folder = tempfile.mkdtemp(prefix=f"likewise-bench-{name}-{n}-")
        try:
            print(f"N={n:,} {name}: building ...", file=sys.stderr, flush=True)
            b = run_child("peer-build", folder, n, "--peer", name)
            print(f"N={n:,} {name}: querying ...", file=sys.stderr, flush=True)
            q = run_child(
                "peer-query", folder, n, "--peer", name, "--truth", truth, "--peer-ef", str(ef)
            )
            q["ef"] = ef
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        out[name] = {**b, **q}
    return out
