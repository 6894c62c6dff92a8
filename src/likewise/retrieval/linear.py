"""Closed-form models learned from behaviour: fit with numpy on the CPU, served as dense
item-by-item matrices (pure: no store).

- :class:`Ease` (Steck, WWW 2019): item-item weights `B = I - P / diag(P)` with
  `P = (X^T X + lambda I)^-1`, X the users' (binary) positive items. A user's scores are their
  recency-weighted history times B.
- :class:`NextItem`: a ridge regression from a recency-weighted history (`decay ** age` over
  the last `window` positive items) to the next item, fit on every prefix of every history:
  `W = (H^T H + lambda I)^-1 H^T Y`. Its rank-`r` reduction gives each item an input vector
  (`U = W V_r`) and an output vector (`V_r`, the top eigenvectors of `W^T H^T H W`), so an
  interest vector (the EMA of a user's input vectors) is scored against output vectors by an
  inner product: what the `behaviour` space serves with vector search.

Both are dense in the items they know: `n` items take `4 n^2` bytes and `O(n^3)` time to fit.
`MAX_ITEMS` bounds that; above it a fit keeps the most active items and the rest are left to
item-kNN (collaborative) and to the content projection (behaviour vectors).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

__all__ = ["MAX_ITEMS", "Ease", "NextItem", "active_items", "best", "history_weights"]

ALL = 1 << 30  # a window that keeps every item of the history it is given
MAX_ITEMS = 10_000  # dense models: 4 n^2 bytes per matrix (400 MB at 10k), O(n^3) to fit
Matrix = npt.NDArray[np.float32]


def active_items(histories: Iterable[Sequence[str]], limit: int = MAX_ITEMS) -> list[str]:
    """The items of `histories`, the `limit` most frequent (ties by first appearance)."""
    counts: dict[str, int] = {}
    for history in histories:
        for item in history:
            counts[item] = counts.get(item, 0) + 1
    ranked = sorted(counts, key=lambda i: -counts[i])  # stable: first appearance breaks ties
    return ranked[:limit]


def best(
    items: Sequence[str],
    scores: npt.NDArray[np.float64],
    skip: Iterable[str],
    n: int,
    position: Mapping[str, int] | None = None,
) -> dict[str, float]:
    """The `n` best of `items` by `scores` (one per item), best first (ties by id), minus
    `skip`. `scores` is changed in place; `position` maps an item to its index (built when
    not given)."""
    position = position if position is not None else {i: j for j, i in enumerate(items)}
    hidden = list({position[i] for i in skip if i in position})
    scores[hidden] = -np.inf
    n = min(n, len(scores) - len(hidden))
    if n <= 0:
        return {}
    top = np.argpartition(-scores, n - 1)[:n]
    ranked = sorted((-float(scores[j]), items[j]) for j in top)
    return {item: -negative for negative, item in ranked}


def history_weights(
    history: Sequence[str], position: Mapping[str, int], decay: float, window: int
) -> tuple[list[int], list[float]]:
    """(columns, weights) of the last `window` known items of `history`, newest weighted 1,
    each older one `decay` times the next (repeats summed)."""
    cols: list[int] = []
    weights: list[float] = []
    age = 0
    for item in reversed(history):
        if age >= window:
            break
        j = position.get(item)
        if j is None:
            continue
        cols.append(j)
        weights.append(decay**age)
        age += 1
    return cols, weights


@dataclass
class _Dense:
    """An item-by-item matrix over `items`: scores of a weighted history, top-n, bytes."""

    items: list[str]
    matrix: Matrix
    decay: float
    window: int
    lam: float

    def to_bytes(self) -> bytes:
        return _save(self.items, self.matrix, decay=self.decay, window=self.window, lam=self.lam)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        items, matrix, meta = _load(data)
        return cls(items, matrix, meta["decay"], int(meta["window"]), meta["lam"])

    @property
    def position(self) -> dict[str, int]:
        cached: dict[str, int] | None = getattr(self, "_pos", None)
        if cached is None:
            cached = {item: j for j, item in enumerate(self.items)}
            self._pos = cached
        return cached

    def vector(self, history: Sequence[str]) -> npt.NDArray[np.float64] | None:
        """The score of every item for `history` (oldest first), None when none is known."""
        cols, weights = history_weights(history, self.position, self.decay, self.window)
        if not cols:
            return None
        # float32 rows as stored (a float64 copy of 500 rows of 10,000 is 40 MB), summed in
        # float32 and widened after: `best` ranks float64 scores. The matrix is row-major
        # (`_rows`): gathering rows of a column-major one is 20 times slower.
        return (np.asarray(weights, np.float32) @ self.matrix[cols]).astype(np.float64)

    def top(
        self, history: Sequence[str], n: int, *, exclude: Iterable[str] = ()
    ) -> dict[str, float]:
        """The `n` best items for `history`, best first (ties by id), minus `exclude` and
        the history itself."""
        scores = self.vector(history)
        if scores is None:
            return {}
        return best(self.items, scores, [*exclude, *history], n, self.position)


@dataclass
class Ease(_Dense):
    """EASE item-item weights over `items` (row i: what item i says of every item)."""

    items: list[str]
    matrix: Matrix
    decay: float = 1.0
    window: int = ALL
    lam: float = 500.0

    @classmethod
    def fit(
        cls,
        histories: Sequence[Sequence[str]],
        *,
        lam: float = 500.0,
        decay: float = 1.0,
        window: int = ALL,
        limit: int = MAX_ITEMS,
    ) -> Ease:
        """From each user's positive items (oldest first; repeats count once)."""
        items = active_items(histories, limit)
        position = {item: j for j, item in enumerate(items)}
        x = _binary(histories, position)
        gram = (x.T @ x).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += lam
        p = np.linalg.inv(gram)
        b = -p / np.diag(p)
        np.fill_diagonal(b, 0.0)
        return cls(items, _rows(b), decay, window, lam)


@dataclass
class NextItem(_Dense):
    """A ridge regression from a recency-weighted history to the next item (row i: how much
    having item i, newest, raises each item's chance to come next)."""

    items: list[str]
    matrix: Matrix
    decay: float = 0.8
    window: int = 20
    lam: float = 100.0
    # H^T H of the fit, kept for `reduced` while this process holds the model (not stored)
    _gram: npt.NDArray[np.float64] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def fit(
        cls,
        sequences: Sequence[Sequence[str]],
        *,
        lam: float = 100.0,
        decay: float = 0.8,
        window: int = 20,
        limit: int = MAX_ITEMS,
    ) -> NextItem:
        """From each user's positive items in time order (every prefix is a sample)."""
        items = active_items(sequences, limit)
        position = {item: j for j, item in enumerate(items)}
        h, y = _samples(sequences, position, decay, window)
        gram = (h.T @ h).toarray().astype(np.float64)
        target = (h.T @ y).toarray().astype(np.float64)
        regularised = gram.copy()
        regularised[np.diag_indices_from(regularised)] += lam
        model = cls(items, _solve(regularised, target), decay, window, lam)
        model._gram = gram  # for `reduced`, while this process keeps the model
        return model

    def reduced(self, sequences: Sequence[Sequence[str]], rank: int) -> tuple[Matrix, Matrix]:
        """(input vectors U, output vectors V), each (items, rank): the best rank-`rank`
        approximation of the fitted predictions, `h W ~ (h U) V^T`."""
        from scipy.linalg import eigh

        gram = self._gram
        if gram is None:
            h, _ = _samples(sequences, self.position, self.decay, self.window)
            gram = (h.T @ h).toarray().astype(np.float64)
        w = self.matrix.astype(np.float64)
        spread = w.T @ gram @ w
        n = len(self.items)
        rank = max(1, min(rank, n))
        values, vectors = eigh(spread, subset_by_index=[n - rank, n - 1])  # the largest only
        v = vectors[:, np.argsort(-values)]
        return (w @ v).astype(np.float32), v.astype(np.float32)


def _binary(histories: Sequence[Sequence[str]], position: Mapping[str, int]) -> sp.csr_matrix:
    rows, cols = [], []
    for user, history in enumerate(histories):
        for j in {position[i] for i in history if i in position}:
            rows.append(user)
            cols.append(j)
    data = np.ones(len(rows), np.float32)
    return sp.csr_matrix((data, (rows, cols)), shape=(len(histories), len(position)))


def _samples(
    sequences: Sequence[Sequence[str]], position: Mapping[str, int], decay: float, window: int
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(H, Y): one row per (prefix, next item) of every sequence, prefix weighted by age."""
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    targets: list[int] = []
    for sequence in sequences:
        known = [position[i] for i in sequence if i in position]
        for t in range(1, len(known)):
            row = len(targets)
            for age, j in enumerate(reversed(known[max(0, t - window) : t])):
                rows.append(row)
                cols.append(j)
                vals.append(decay**age)
            targets.append(known[t])
    n, m = len(targets), len(position)
    h = sp.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=(n, m))
    h.sum_duplicates()
    y = sp.csr_matrix((np.ones(n, np.float32), (np.arange(n), targets)), shape=(n, m))
    return h, y


def _solve(gram: npt.NDArray[np.float64], target: npt.NDArray[np.float64]) -> Matrix:
    """`gram^-1 target` for a symmetric positive definite `gram` (Cholesky)."""
    from scipy.linalg import cho_factor, cho_solve

    solved: npt.NDArray[np.float64] = cho_solve(
        cho_factor(gram, overwrite_a=True), target, overwrite_b=True
    )
    return _rows(solved)


def _rows(matrix: npt.NDArray[Any]) -> Matrix:
    """`matrix` as row-major float32: scoring gathers rows (Cholesky solves and `np.save`
    of them give column-major arrays)."""
    return np.ascontiguousarray(matrix, dtype=np.float32)


def _save(items: Sequence[str], matrix: Matrix, **meta: float) -> bytes:
    buffer = io.BytesIO()
    arrays: dict[str, Any] = {"items": np.array(items), "matrix": matrix}
    arrays.update({k: np.float64(v) for k, v in meta.items()})
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _load(data: bytes) -> tuple[list[str], Matrix, dict[str, float]]:
    with np.load(io.BytesIO(data)) as f:
        meta = {k: float(f[k]) for k in f.files if k not in ("items", "matrix")}
        return [str(i) for i in f["items"]], _rows(f["matrix"]), meta
