"""The remote embedder's settings: where an OpenAI-compatible server is, the key it wants, and
how hard to push it (batch sizes, requests in flight, timeout, retries).

They matter only for a model named `openai:<model>`; each is read from
`LIKEWISE_OPENAI_<KNOB>` like every other setting. The key is a secret: its repr and any dump
show asterisks, so a logged config never carries it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, SecretStr, field_validator

from likewise.config.base import Component

__all__ = ["DEFAULT_BASE_URL", "EmbeddingConfig"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class EmbeddingConfig(Component):
    """An OpenAI-compatible embeddings server (`POST {base_url}/embeddings`) and how it is
    called. The batch limits are OpenAI's own with room to spare: at most 2,048 inputs and
    300,000 tokens a request."""

    section: ClassVar[str] = "embedding"

    openai_base_url: str = Field(
        DEFAULT_BASE_URL,
        description="the server's API root; `/embeddings` is added to it (e.g. "
        "http://localhost:8080/v1 for a self-hosted server)",
    )
    openai_api_key: SecretStr | None = Field(
        None, description="sent as `Authorization: Bearer ...`; never logged or shown"
    )
    openai_dimensions: int | None = Field(
        None,
        ge=1,
        le=65_536,
        description="ask the model for this many dimensions (the `dimensions` field: "
        "text-embedding-3 models shorten their vectors); unset: the model's own",
    )
    openai_batch_size: int = Field(256, ge=1, le=2_048, description="most texts in one request")
    openai_batch_tokens: int = Field(
        250_000,
        ge=1,
        le=1_000_000,
        description="most tokens in one request, estimated as characters / 4",
    )
    openai_concurrency: int = Field(4, ge=1, le=64, description="requests in flight at once")
    openai_timeout: float = Field(60.0, gt=0, description="seconds one request may take")
    openai_retries: int = Field(
        5,
        ge=0,
        le=20,
        description="tries after the first on 429, 5xx, a timeout or a lost connection",
    )

    @field_validator("openai_base_url")
    @classmethod
    def _url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("give an http:// or https:// URL, e.g. https://api.openai.com/v1")
        return url.rstrip("/")

    def embedder_options(self) -> dict[str, Any]:
        """The keyword arguments of :class:`likewise.embedders.openai.OpenAIEmbedder`."""
        key = self.openai_api_key
        return {
            "base_url": self.openai_base_url,
            "api_key": None if key is None else key.get_secret_value(),
            "dimensions": self.openai_dimensions,
            "batch_size": self.openai_batch_size,
            "batch_tokens": self.openai_batch_tokens,
            "concurrency": self.openai_concurrency,
            "timeout": self.openai_timeout,
            "retries": self.openai_retries,
        }
