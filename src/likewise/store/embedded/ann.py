"""The in-process vector index: faiss HNSW over labels 0..N-1, with a planned filtered search.

Labels only grow: an item whose vector or metadata changes gets a new label and the old one is
masked out (`alive`). A filtered query is planned like a database would: when the filter leaves
few labels they are scanned exactly (a bitmap over the flat storage); otherwise HNSW searches
with the bitmap applied inside the graph walk and a wider beam the rarer the matches are.

A query runs on one thread: faiss's OpenMP regions wake every core for a single query and, on a
busy machine, wait for the slowest (the exact scan of 1,000 rows took 4-15 ms that way instead
of 0.1 ms). Building keeps every core. A loaded snapshot is memory-mapped, so opening a large
store reads little; the first write copies it into memory (a mapped index cannot grow).

An add runs in a background thread (faiss releases the GIL): the caller goes on with its next
batch's SQLite writes and Python while the graph grows on both cores, and every use of the
faiss index (`index`) waits for it first, so no read sees a half-added batch. At 1M this hid
most of the build's single-threaded store work behind faiss's adds (bench/search.py).
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss as _faiss
import numpy as np
import numpy.typing as npt

from likewise.store.base import Metric
from likewise.store.embedded import storage as kept
from likewise.store.embedded.calibrate import EF_LADDER, filtered_ef, measure
from likewise.store.embedded.selection import Selections
from likewise.store.embedded.storage import Storage

log = logging.getLogger(__name__)

__all__ = ["EF_LADDER", "AnnConfig", "VectorIndex", "threads"]

faiss: Any = _faiss  # its bundled stubs lack the search-parameter and selector classes

Mask = npt.NDArray[np.bool_]
Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class AnnConfig:
    """HNSW build and search settings (measured in bench/search.py).

    `ef_search` is where the beam width starts; :meth:`VectorIndex.calibrate` then picks the
    smallest width (up to `max_calibrated_ef`) that reaches `target_recall` on a sample of
    the stored vectors, since the width a catalog needs grows with its size and difficulty;
    by `calibration_margin` more, as a sample's recall varies (at 1M, a beam that just
    reached 0.98 on 96 held-out queries gave 0.975 on 300 others).
    A filtered set is scanned exactly when it is at most `exact_below` rows, when scanning it
    costs less than `exact_per_ef` rows per unit of the beam it would need, or when that beam
    would pass `max_ef`.

    The graph is built with a beam of `ef_construction`, doubled for a batch that takes the
    index to `wider_from` or more (see :meth:`construction_ef`). `storage` is how the vectors
    are kept (`storage.py`); a store records it when it is created.
    """

    m: int = 32
    ef_construction: int = 64
    wider_from: int = 20_000
    storage: Storage = kept.DEFAULT
    ef_search: int = 64
    target_recall: float = 0.98
    calibration_margin: float = 0.005
    max_calibrated_ef: int = 384
    max_ef: int = 2048
    exact_below: int = 1_000
    exact_per_ef: int = 16

    def construction_ef(self, size: int) -> int:
        """The build beam for a batch that takes the index to `size`: a small graph is built
        well by a narrow beam, a large one is not. At 1M x 384 (bench/search.py), a graph
        built at efConstruction 64 stayed at recall 0.956 whatever the search beam; at 128
        from 250k on, 0.972 at efSearch 256; at 128 throughout, 0.991. So the wider beam
        starts early: only a catalog that stays small keeps the cheaper build."""
        return self.ef_construction * (2 if size >= self.wider_from else 1)


_THREADS = faiss.omp_get_max_threads()  # what OpenMP gives a thread that never chose


@contextmanager
def threads(count: int) -> Iterator[None]:
    """Run faiss on `count` OpenMP threads in this thread only (OpenMP's setting is per thread)."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(count)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class VectorIndex:
    """Vectors by label, HNSW-searchable, with a mask of live labels."""

    def __init__(self, dim: int, metric: Metric, config: AnnConfig | None = None) -> None:
        self.dim = dim
        self.metric: Metric = metric
        self.config = config or AnnConfig()
        kind = faiss.METRIC_L2 if metric == "euclidean" else faiss.METRIC_INNER_PRODUCT
        self._graph = kept.new_graph(dim, self.config.m, kind, self.config.storage)
        self._size = 0  # labels, counting those an unfinished add is putting in the graph
        self._adding: _Adding | None = None
        self.alive: Mask = np.zeros(0, dtype=bool)
        self.ef_search = self.config.ef_search
        self.calibrated_at = 0  # the size when ef_search was last calibrated
        self.by_share: dict[float, int] = {}  # the beam by the share a filter leaves
        self._live = 0
        self._alive_bits: npt.NDArray[np.uint8] | None = None
        self._selections = Selections()  # what filtered searches derived from masks
        self._mapped: int | None = None  # a descriptor of the file `index` is mapped from
        self._beams: dict[int, Any] = {}  # an unfiltered search's parameters, by beam

    @property
    def index(self) -> Any:
        """The faiss index, once the add running in the background (if any) is done."""
        adding = self._adding
        if adding is not None:
            adding.wait()  # raises again, at every use, what a failed add raised
            if self._adding is adding:
                self._adding = None
        return self._graph

    @index.setter
    def index(self, graph: Any) -> None:
        _ = self.index  # never replaced under a running add
        self._graph = graph
        self._size = int(graph.ntotal)

    @property
    def size(self) -> int:
        """Labels held, those of an add still running included (its caller has given them)."""
        return self._size

    def live_count(self) -> int:
        return self._live

    def add(self, vectors: Vectors, alive: Mask) -> None:
        """Append vectors as labels size..size+len-1."""
        if len(vectors) == 0:
            return
        self._own()
        graph = self.index  # the previous add done
        graph.hnsw.efConstruction = self.config.construction_ef(self.size + len(vectors))
        self._adding = _Adding(graph, self._prepare(vectors))
        self._size += len(vectors)
        self.alive = np.concatenate([self.alive, alive.astype(bool)])
        self._live = int(np.count_nonzero(self.alive))
        self._alive_bits = None
        self._selections.clear()

    def kill(self, labels: list[int]) -> None:
        self.alive[labels] = False
        self._live = int(np.count_nonzero(self.alive))
        self._alive_bits = None
        self._selections.clear()

    def vectors(self) -> npt.NDArray[np.float32] | npt.NDArray[np.float16]:
        """A zero-copy view of every stored vector, by label (invalid after the next add):
        float16 when the index stores fp16."""
        return kept.stored(self.index)

    def rows(self, labels: list[int]) -> Vectors:
        """A float32 copy of the vectors at `labels`."""
        return kept.rows(self.index, labels)

    def search(
        self, query: Vectors, n: int, mask: Mask | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Top-`n` live labels (and scores, higher is closer) among `mask`, or all."""
        with threads(1):
            return self._search(query, n, mask)

    def _search(
        self, query: Vectors, n: int, mask: Mask | None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        q = self._query(query)
        if mask is None and self.live_count() == self.size:
            ef = max(self.ef_search, n)
            params = self._beams.get(ef)
            if params is None:  # read-only in a search: one object serves every thread
                params = self._beams[ef] = faiss.SearchParametersHNSW(efSearch=ef)
            return self._finish(*self.index.search(q, n, params=params))
        chosen = None if mask is None else self._selections.of(mask, self.alive)
        count = self._live if chosen is None else chosen.count
        n = min(n, count)
        if count == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        # Rarer matches need a wider beam for the walk to meet n of them (calibrate.py).
        ef = max(filtered_ef(self.ef_search, self.by_share, count / self.size), n)
        cfg = self.config
        if count > max(cfg.exact_below, cfg.exact_per_ef * ef) and ef <= cfg.max_ef:
            bits = self._bits(self.alive, use_alive_cache=True) if chosen is None else None
            selector = faiss.IDSelectorBitmap(chosen.bitmap() if chosen else bits)
            params = faiss.SearchParametersHNSW(efSearch=ef, sel=selector)
            distances, labels = self.index.search(q, n, params=params)
            if (labels[0] >= 0).sum() == n:
                return self._finish(distances, labels)
        if chosen is None:
            return self._exact(q, n, np.flatnonzero(self.alive))
        subset = self._selections.subset(self.index, chosen)
        if subset is None:
            return self._exact(q, n, chosen.members())
        distances, at = subset.search(q, n)  # a contiguous copy of the rows (selection.py)
        return self._finish(distances, chosen.members()[at])

    def calibrate(self, samples: int = 128, seed: int = 0) -> int:
        """Set `ef_search` to the smallest beam reaching the target recall@10 on a sample, and
        measure the beams filters need (`calibrate.py`). Returns the unfiltered width."""
        live = np.flatnonzero(self.alive)
        if len(live) <= max(self.config.exact_below, 1_000):
            return self.ef_search
        with threads(_THREADS):
            chosen, self.by_share = measure(self, samples, seed)
        log.info(
            "calibrated ef_search=%d on %d labels (by filter share: %s)",
            chosen,
            self.size,
            self.by_share,
        )
        self.ef_search = chosen
        self.calibrated_at = self.size
        return chosen

    def _exact(
        self, q: Vectors, n: int, labels: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Score exactly the given labels (reads only their rows: memory-bound, no bitmap)."""
        distances, top = kept.exact(self.index, q, labels, n, self.metric == "euclidean")
        return self._finish(distances[None, :], top[None, :])

    def _bits(self, keep: Mask, *, use_alive_cache: bool) -> npt.NDArray[np.uint8]:
        if use_alive_cache:
            if self._alive_bits is None:
                self._alive_bits = np.packbits(self.alive, bitorder="little")
            return self._alive_bits
        return np.packbits(keep, bitorder="little")

    def _prepare(self, vectors: Vectors) -> Vectors:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.metric == "cosine":
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        return vectors

    def _query(self, query: Vectors) -> Vectors:
        """One query as `_prepare` makes it (the same float32 arithmetic, so the same bits),
        in a third of its time: a search runs it on every request."""
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if self.metric != "cosine":
            return q
        norm = np.sqrt(np.add.reduce(q * q, axis=1, keepdims=True))
        if not norm[0, 0] > 0:
            return np.zeros_like(q)
        return (q / norm).astype(np.float32, copy=False)

    def _finish(
        self, distances: npt.NDArray[np.float32], labels: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        found = labels[0] >= 0
        scores = distances[0][found]
        if self.metric == "euclidean":
            scores = -np.sqrt(np.maximum(scores, 0))
        return labels[0][found].astype(np.int64), scores.astype(np.float32)

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(
        cls, path: Path, dim: int, metric: Metric, alive: Mask, config: AnnConfig | None = None
    ) -> VectorIndex:
        """The index saved at `path`, memory-mapped: its vectors and graph are read from the
        page cache as searches touch them, not copied at open (0.1 s instead of seconds at 1M).

        The file stays open, so a later save that replaces it (another process's, or ours)
        leaves this copy readable: the first write reads it whole from that descriptor."""
        out = cls(dim, metric, config)
        fd = os.open(path, os.O_RDONLY)
        try:
            out.index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
        except BaseException:
            os.close(fd)
            raise
        out._mapped = fd
        weakref.finalize(out, _close, fd, out.__dict__)
        warm = threading.Thread(target=_touch, args=(out.index,), name="likewise-warm", daemon=True)
        warm.start()
        out.alive = alive
        out._live = int(np.count_nonzero(alive))
        return out

    def _own(self) -> None:
        """Copy a memory-mapped index into memory, so it can grow (faiss aborts otherwise)."""
        fd = self._mapped
        if fd is None:
            return
        log.info("reading the index of %d vectors into memory before its first write", self.size)
        os.lseek(fd, 0, os.SEEK_SET)
        with open(fd, "rb", closefd=False) as fh:
            index = faiss.read_index(faiss.PyCallbackIOReader(fh.read))
        self.index = index
        self._mapped = None
        os.close(fd)


class _Adding:
    """One faiss add running in its own thread (on every core: OpenMP's default there)."""

    def __init__(self, graph: Any, vectors: Vectors) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(graph, vectors), name="likewise-add", daemon=False
        )
        self._thread.start()

    def _run(self, graph: Any, vectors: Vectors) -> None:
        try:
            graph.add(vectors)
        except BaseException as error:  # given to whoever uses the index next
            self._error = error

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


def _touch(index: Any) -> None:
    """Map each page of a memory-mapped index (vectors and graph) into the process, in the
    background: otherwise the first queries to reach a page pay a page fault for it (at 100k,
    a p99 of 4.5 ms instead of 0.6 ms in the filtered paths right after open). `index` is held
    until done, so its mapping stays valid even if a write replaces it meanwhile."""
    if index.ntotal == 0:
        return
    neighbors = index.hnsw.neighbors
    graph = np.asarray(faiss.rev_swig_ptr(neighbors.data(), neighbors.size()))
    for data in (kept.pages(index), graph):
        float(data[:: 4096 // data.itemsize].sum())  # one number a page


def _close(fd: int, fields: dict[str, Any]) -> None:
    """Close the mapped file's descriptor when its index goes, unless `_own` already did."""
    if fields.get("_mapped") == fd:
        os.close(fd)
