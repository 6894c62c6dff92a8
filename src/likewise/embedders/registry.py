"""Embedders by name: the config and the CLI say `minilm` or `hashing-64`."""

from __future__ import annotations

from likewise.embedders.base import Embedder
from likewise.errors import ConfigError

__all__ = ["DEFAULT_MODEL", "KNOWN_MODELS", "get_embedder"]

DEFAULT_MODEL = "minilm"
KNOWN_MODELS = ("minilm", "all-MiniLM-L6-v2-onnx-int8", "hashing-<dim>")


def get_embedder(name: str) -> Embedder:
    """The embedder for a model name or a store's recorded model id."""
    if name in ("minilm", "all-MiniLM-L6-v2-onnx-int8"):
        from likewise.embedders.onnx import MiniLMEmbedder

        return MiniLMEmbedder()
    if name.startswith("hashing"):
        from likewise.embedders.hashing import HashingEmbedder

        suffix = name.removeprefix("hashing").removeprefix("-") or "64"
        if not suffix.isdigit() or not 2 <= int(suffix) <= 4096:
            raise ConfigError(f"model {name!r}: hashing dimension must be 2..4096")
        return HashingEmbedder(int(suffix))
    raise ConfigError(f"unknown model {name!r}; known: {', '.join(KNOWN_MODELS)}")
