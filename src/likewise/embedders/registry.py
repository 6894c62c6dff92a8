"""Embedders by name: the config and the CLI say `minilm`, `hashing-64` or `openai:<model>`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from likewise.embedders.base import Embedder
from likewise.errors import ConfigError

if TYPE_CHECKING:
    from likewise.config.embedding import EmbeddingConfig

__all__ = ["DEFAULT_MODEL", "KNOWN_MODELS", "get_embedder"]

DEFAULT_MODEL = "minilm"
KNOWN_MODELS = ("minilm", "all-MiniLM-L6-v2-onnx-int8", "hashing-<dim>", "openai:<model>[@<dim>]")


def get_embedder(name: str, *, embedding: EmbeddingConfig | None = None) -> Embedder:
    """The embedder for a model name or a store's recorded model id.

    A remote model (`openai:...`) is called as `embedding` says; None reads those settings
    from the environment (`LIKEWISE_OPENAI_*`).
    """
    if name in ("minilm", "all-MiniLM-L6-v2-onnx-int8"):
        from likewise.embedders.onnx import MiniLMEmbedder

        return MiniLMEmbedder()
    if name.startswith("hashing"):
        from likewise.embedders.hashing import HashingEmbedder

        suffix = name.removeprefix("hashing").removeprefix("-") or "64"
        if not suffix.isdigit() or not 2 <= int(suffix) <= 4096:
            raise ConfigError(f"model {name!r}: hashing dimension must be 2..4096")
        return HashingEmbedder(int(suffix))
    if name.startswith("openai:"):
        from likewise.config.embedding import EmbeddingConfig
        from likewise.embedders.openai import OpenAIEmbedder, parse_name

        model, dimensions = parse_name(name)
        options = (embedding or EmbeddingConfig()).embedder_options()
        # The name's `@<dim>` is what the store was built with; the setting asks for a new one.
        options["dimensions"] = dimensions or options["dimensions"]
        return OpenAIEmbedder(model, **options)
    raise ConfigError(f"unknown model {name!r}; known: {', '.join(KNOWN_MODELS)}")
