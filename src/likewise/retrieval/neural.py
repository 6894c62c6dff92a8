"""The neural next-item model (SASRec), served from ONNX with onnxruntime: no torch.

A self-attentive sequence model (Kang & McAuley, ICDM 2018) trained with full cross-entropy
by `likewise.retrieval.neural_fit` (the `likewise[neural]` extra: torch on the CPU). What is
kept and served is its ONNX graph, which maps the last `length` items of a history (item
positions, 0 for padding) to a state vector, and the output item vectors: an item's score is
its vector times the state. Pure: no store.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from likewise.retrieval.linear import best

__all__ = ["NeuralNext", "describe"]

Matrix = npt.NDArray[np.float32]
BATCH = 512  # histories per ONNX run when scoring many


@dataclass
class NeuralNext:
    """A trained SASRec: `graph` (ONNX bytes: `items` int64 `(batch, length)` -> `state`
    float `(batch, dim)`) and `outputs` (one row per item of `items`, in that order)."""

    items: list[str]
    graph: bytes
    outputs: Matrix
    length: int
    info: dict[str, Any] = field(default_factory=dict)
    _session: Any = field(default=None, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    @cached_property
    def position(self) -> dict[str, int]:
        return {item: j for j, item in enumerate(self.items)}

    def encode(self, history: Sequence[str]) -> npt.NDArray[np.int64] | None:
        """The graph's input row for `history` (oldest first): the last `length` known items
        as positions from 1, left-padded with 0; None when no item is known."""
        position = self.position
        known = [position[i] + 1 for i in history if i in position][-self.length :]
        if not known:
            return None
        row = np.zeros(self.length, np.int64)
        row[self.length - len(known) :] = known
        return row

    def states(self, rows: npt.NDArray[np.int64]) -> Matrix:
        """The state vectors of encoded histories `(batch, length)`."""
        session = self._session
        if session is None:
            with self._lock:
                if self._session is None:
                    self._session = _session(self.graph)
                session = self._session
        out: list[Matrix] = []
        for start in range(0, len(rows), BATCH):
            (state,) = session.run(None, {"items": rows[start : start + BATCH]})
            out.append(np.asarray(state, np.float32))
        return np.concatenate(out) if out else np.zeros((0, self.outputs.shape[1]), np.float32)

    def top(
        self, history: Sequence[str], n: int, *, exclude: Iterable[str] = ()
    ) -> dict[str, float]:
        """The `n` best items for `history`, best first (ties by id), minus `exclude` and
        the history itself."""
        row = self.encode(history)
        if row is None:
            return {}
        state = self.states(row[None])[0]
        scores = (self.outputs @ state).astype(np.float64)
        return best(self.items, scores, [*exclude, *history], n, self.position)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(
            buffer,
            items=np.array(self.items),
            graph=np.frombuffer(self.graph, np.uint8),
            outputs=self.outputs,
            length=np.int64(self.length),
            info=np.array(json.dumps(self.info)),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        with np.load(io.BytesIO(data)) as f:
            return cls(
                items=[str(i) for i in f["items"]],
                graph=f["graph"].tobytes(),
                outputs=f["outputs"].astype(np.float32),
                length=int(f["length"]),
                info=json.loads(str(f["info"])),
            )


def _session(graph: bytes) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # one request on one core; a server runs many at once
    options.inter_op_num_threads = 1
    return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def describe(info: dict[str, Any]) -> str:
    """A line on a trained model's `info` (or on why none was trained)."""
    if "skipped" in info:
        return f"not trained ({info['skipped']})"
    loss = "n/a" if info.get("loss") is None else f"{info['loss']:g}"
    return (
        f"{info['epochs']} epochs in {info['seconds']:g} s, final loss {loss} "
        f"({info['users']} users, {info['dim']}-d)"
    )
