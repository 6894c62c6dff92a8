"""How an index keeps its vectors: float32 (exact), or fp16 (half the memory, scores within
about 1e-3 of exact).

At 1M x 384 the float32 vectors are 1.5 GB of the index's 1.8 GB; fp16 halves them with no
measurable recall cost on normalised embeddings (bench/search.py). The choice is made when a
store is created and recorded in its `meta` table, so a store always opens as it was built.
Everything that reads the stored vectors goes through here, so the rest of the index does not
care which it is: `stored` is a view of them (float16 or float32), `rows` copies some out as
float32, and `exact` scores a subset of labels.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import faiss as _faiss
import numpy as np
import numpy.typing as npt

from likewise.errors import ConfigError, InvalidInput

__all__ = [
    "DEFAULT",
    "STORAGES",
    "Storage",
    "check_fits",
    "check_storage",
    "exact",
    "flat_copy",
    "new_graph",
    "row_bytes",
    "rows",
    "stored",
]

faiss: Any = _faiss  # its bundled stubs lack the scalar quantizer's classes

Storage = Literal["float32", "fp16"]
STORAGES: tuple[Storage, ...] = get_args(Storage)
DEFAULT: Storage = "float32"


def check_storage(value: str) -> Storage:
    """`value` if it is a known storage, else a ConfigError naming the setting."""
    if value not in STORAGES:
        known = ", ".join(STORAGES)
        raise ConfigError(
            f"setting vector_storage: unknown storage {value!r}; use one of {known}",
            field="vector_storage",
        )
    return value


FP16_MAX = 65504.0  # the largest finite float16


def check_fits(storage: Storage, metric: str, item_id: str, blob: bytes) -> None:
    """InvalidInput naming the item when fp16 cannot keep its vector (a float32 row): past
    +-65504 float16 holds infinity, so the item would leave euclidean searches, score
    infinity by dot and read back as infinity. A cosine vector is normalised first: it fits."""
    if storage != "fp16" or metric == "cosine":
        return
    if np.abs(np.frombuffer(blob, dtype=np.float32)).max(initial=0.0) > FP16_MAX:
        raise InvalidInput(
            f"vector of item {item_id!r} has a value past +-{FP16_MAX:g}, more than this "
            f"store's fp16 vector storage keeps (a {metric} space is not normalised)",
            field="vector",
        )


def new_graph(dim: int, m: int, metric: int, storage: Storage) -> Any:
    """An empty faiss HNSW index keeping its vectors as `storage` says."""
    if storage == "fp16":
        return faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_fp16, m, metric)
    return faiss.IndexHNSWFlat(dim, m, metric)


def storage_of(index: Any) -> Storage:
    """What the faiss index read from a snapshot keeps its vectors as."""
    return (
        "fp16"
        if isinstance(faiss.downcast_index(index.storage), faiss.IndexScalarQuantizer)
        else "float32"
    )


def stored(index: Any) -> npt.NDArray[np.float32] | npt.NDArray[np.float16]:
    """A zero-copy view of every stored vector, by label: float32, or float16 for fp16."""
    flat = faiss.downcast_index(index.storage)
    size, dim = int(index.ntotal), int(index.d)
    if isinstance(flat, faiss.IndexScalarQuantizer):
        codes = flat.codes
        data = np.asarray(faiss.rev_swig_ptr(codes.data(), size * dim * 2)).view(np.float16)
        return data.reshape(size, dim)
    return np.asarray(faiss.rev_swig_ptr(flat.get_xb(), size * dim)).reshape(size, dim)


def pages(index: Any) -> npt.NDArray[Any]:
    """The stored vectors' bytes, for warming a mapped index (see `ann._touch`)."""
    return stored(index).reshape(-1).view(np.uint8)


def rows(index: Any, labels: npt.NDArray[np.int64] | list[int]) -> npt.NDArray[np.float32]:
    """A float32 copy of the vectors at `labels`: faiss's own copy (one call, a quarter of
    the time of the view's five for one row) unless many fp16 rows, which numpy widens faster
    than faiss decodes them."""
    if len(labels) <= _DECODED or not isinstance(index, faiss.IndexHNSWSQ):
        copied: npt.NDArray[np.float32] = index.reconstruct_batch(np.asarray(labels, np.int64))
        return copied
    return np.asarray(stored(index)[labels], dtype=np.float32)


_DECODED = 16  # fp16 rows faiss decodes itself; more are widened from the view


def exact(
    index: Any, q: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], n: int, euclidean: bool
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """The `n` labels nearest the query `q` (one row) and their faiss distances (the inner
    product, or the squared L2 distance), best first. float32 rows are scored in place by
    faiss; fp16 rows are gathered a block at a time into a small flat index of their codes,
    which faiss scans (numpy widens fp16 at ~1 ms per 1,000 rows; this takes ~0.1 ms)."""
    flat = faiss.downcast_index(index.storage)
    if not isinstance(flat, faiss.IndexScalarQuantizer):
        distances = np.empty(len(labels), dtype=np.float32)
        flat.compute_distance_subset(
            1, faiss.swig_ptr(q), len(labels), faiss.swig_ptr(distances), faiss.swig_ptr(labels)
        )
        return _best(distances, labels, n, euclidean)
    found_d, found_l = [], []
    for start in range(0, len(labels), _BLOCK):
        block = labels[start : start + _BLOCK]
        distances, at = flat_copy(index, block).search(q, min(n, len(block)))
        found_d.append(distances[0])
        found_l.append(block[at[0]])
    return _best(np.concatenate(found_d), np.concatenate(found_l), n, euclidean)


def flat_copy(index: Any, labels: npt.NDArray[np.int64]) -> Any:
    """A flat faiss index of the rows at `labels`, kept as the index keeps them (its label k
    is `labels[k]`): scanning it reads contiguous memory, and fp16 is scored by faiss."""
    flat = faiss.downcast_index(index.storage)
    if isinstance(flat, faiss.IndexScalarQuantizer):
        out = faiss.IndexScalarQuantizer(flat.d, faiss.ScalarQuantizer.QT_fp16, flat.metric_type)
        out.add_sa_codes(stored(index).view(np.uint8)[labels])
        return out
    out = faiss.IndexFlat(flat.d, flat.metric_type)
    out.add(stored(index)[labels])
    return out


def row_bytes(index: Any) -> int:
    """The bytes one stored vector takes."""
    return int(index.d) * stored(index).itemsize


_BLOCK = 32_768  # fp16 rows gathered at once (24 MB at 384-d)


def _best(
    distances: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], n: int, euclidean: bool
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    order = distances if euclidean else -distances
    top = np.argpartition(order, n - 1)[:n] if n < len(labels) else np.arange(len(labels))
    top = top[np.argsort(order[top], kind="stable")]
    return distances[top], labels[top]
