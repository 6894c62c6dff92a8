"""The Embedder extension point: one abstract batch method; batching and normalising here."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from likewise.errors import EmbedderError

__all__ = ["Embedder", "Vectors", "normalize"]

Vectors = npt.NDArray[np.float32]


def normalize(vectors: Vectors) -> Vectors:
    """L2-normalise rows; a zero row stays zero."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    out: Vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return out


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors of shape (n, dim).

    Subclasses set `model_id` and `dim` and implement :meth:`embed_batch`.
    """

    model_id: str
    dim: int
    batch_size: int = 32
    # Requests a remote embedder keeps in flight: an ingest hands it this many durable
    # batches at once (a local model computes one at a time).
    concurrency: int = 1
    # Each text is cut to this many characters before the model sees it: far past what a
    # 256-token model reads, and a 10 MB search text no longer costs a gigabyte to tokenize.
    # A model with a longer context sets more; the `max_text_chars` setting
    # (LIKEWISE_MAX_TEXT_CHARS), when given, replaces it on the embedder an Engine uses.
    max_chars: int = 8_192

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        """Embed at most `batch_size` texts; rows need not be normalised."""

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed any number of texts, in batches, normalised."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = [text[: self.max_chars] for text in texts[start : start + self.batch_size]]
            vectors = np.asarray(self.embed_batch(batch), dtype=np.float32)
            if vectors.shape != (len(batch), self.dim):
                raise EmbedderError(
                    f"{self.model_id} returned shape {vectors.shape}, "
                    f"expected {(len(batch), self.dim)}"
                )
            out[start : start + len(batch)] = vectors
        return normalize(out)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model_id} dim={self.dim}>"
