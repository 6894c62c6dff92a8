"""What `train` fits, as one versioned bundle: the item-kNN, EASE and next-item models, the
behaviour space's layout and content projection, and the hybrid weights tuned with them.

The `behaviour` space holds, per item, `[input ; output]`: the next-item model's rank-`r`
input vector (unit length) and output vector. A profile's EMA (or mean, dislike, momentum)
over items' behaviour vectors has the EMA of their input vectors in its first half;
:func:`behaviour_query` moves that half onto the output half, so an inner-product search
scores every item's output vector against it: `(EMA of U) . V_j`, what the reduced model
predicts. An item with no interactions gets `text_vector @ projection`, a ridge regression
from content to behaviour vectors fit on the items that have them.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from likewise.retrieval.collaborative import ItemItem
from likewise.retrieval.linear import Ease, NextItem
from likewise.retrieval.neural import NeuralNext

__all__ = ["BEHAVIOUR", "BLOBS", "Models", "behaviour_query", "behaviour_vectors", "fit_projection"]

BEHAVIOUR = "behaviour"  # the learned space's name
OUTPUT_LENGTH = 1.5  # mean length of the output halves (the input halves have length 1)
Matrix = npt.NDArray[np.float32]
BLOBS = (
    "model.meta",
    "item-item",
    "model.ease",
    "model.next-item",
    "model.projection",
    "model.neural",
)


def behaviour_vectors(inputs: Matrix, outputs: Matrix) -> Matrix:
    """Each item's stored vector: its input vector at unit length, then its output vector
    scaled to a mean length of `OUTPUT_LENGTH` (a uniform scale: the same ranking).

    The scale matters to the index, not to the scores: an HNSW graph built on the stored
    vectors links items by both halves, and the queries (`behaviour_query`) ask about the
    output half only. On MovieLens-1M at rank 128, an output half as long as the input half
    measured recall@10 0.86 at efSearch 64; at 1.5 times as long, 0.997, and HR@10 of the
    EMA profile 0.212 -> 0.229 (the longer output half also weighs the EMA a little)."""
    norms = np.linalg.norm(inputs, axis=1, keepdims=True)
    unit = inputs / np.maximum(norms, 1e-12)
    mean = float(np.linalg.norm(outputs, axis=1).mean()) if len(outputs) else 1.0
    scaled = outputs * (OUTPUT_LENGTH / max(mean, 1e-12))
    return np.hstack([unit, scaled]).astype(np.float32)


def behaviour_query(vector: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The search vector of a profile (or an item) in the behaviour space: its input half
    moved onto the output half, the input half zero."""
    half = len(vector) // 2
    out = np.zeros_like(vector)
    out[half:] = vector[:half]
    return out


def fit_projection(text: Matrix, behaviour: Matrix, *, lam: float = 1.0) -> Matrix:
    """A ridge regression from content vectors to behaviour vectors: `(d_text, d_behaviour)`."""
    t = text.astype(np.float64)
    gram = t.T @ t
    gram[np.diag_indices_from(gram)] += lam
    return np.linalg.solve(gram, t.T @ behaviour.astype(np.float64)).astype(np.float32)


@dataclass
class Models:
    """The trained models; any may be missing (too few events, or too many items for the
    dense ones). `info` says what was fit, when, on how much and how long it took."""

    itemknn: ItemItem | None = None
    ease: Ease | None = None
    next_item: NextItem | None = None
    projection: Matrix | None = None
    neural: NeuralNext | None = None  # the `likewise[neural]` extra's SASRec, served by ONNX
    weights: dict[str, float] = field(default_factory=dict)  # tuned hybrid weights
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.info.get("version", ""))

    @property
    def learned(self) -> bool:
        """Whether this training filled the behaviour space."""
        return bool(self.info.get("behaviour_items"))

    def to_blobs(self) -> dict[str, bytes]:
        """The store blobs this bundle is kept in, by key, in the order to write them."""
        blobs = dict.fromkeys(BLOBS[1:], b"")
        if self.itemknn is not None:
            blobs["item-item"] = self.itemknn.to_bytes()
        if self.ease is not None:
            blobs["model.ease"] = self.ease.to_bytes()
        if self.next_item is not None:
            blobs["model.next-item"] = self.next_item.to_bytes()
        if self.projection is not None:
            buffer = io.BytesIO()
            np.save(buffer, self.projection)
            blobs["model.projection"] = buffer.getvalue()
        if self.neural is not None:
            blobs["model.neural"] = self.neural.to_bytes()
        # the version last: a server that sees it changed finds every part written
        blobs["model.meta"] = json.dumps({"weights": self.weights, **self.info}).encode()
        return blobs

    @classmethod
    def from_blobs(cls, blobs: dict[str, bytes | None]) -> Models | None:
        """The bundle of `to_blobs` (None when nothing was trained). A store trained by 0.2,
        which kept only the item-kNN, loads as a bundle of that one model."""
        meta = blobs.get("model.meta")
        knn = blobs.get("item-item") or None
        if meta is None and knn is None:
            return None
        info: dict[str, Any] = json.loads(meta) if meta else {}
        weights = {str(k): float(v) for k, v in (info.pop("weights", None) or {}).items()}
        # An empty blob is a model the last training did not fit (a store keeps no deletes).
        ease, nxt, proj, neural = (blobs.get(k) for k in BLOBS[2:])
        return cls(
            itemknn=ItemItem.from_bytes(knn) if knn else None,
            ease=Ease.from_bytes(ease) if ease else None,
            next_item=NextItem.from_bytes(nxt) if nxt else None,
            projection=np.load(io.BytesIO(proj)) if proj else None,
            neural=NeuralNext.from_bytes(neural) if neural else None,
            weights=weights,
            info=info,
        )
