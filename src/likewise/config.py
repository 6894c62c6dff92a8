"""Settings, from arguments or `LIKEWISE_*` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Defaults for :meth:`likewise.Engine.open` and the CLI.

    Every field can be set in the environment: `LIKEWISE_DATA=./shop-data`, `LIKEWISE_MODEL=...`.
    """

    model_config = SettingsConfigDict(env_prefix="LIKEWISE_", extra="ignore")

    data: str = Field("./likewise-data", description="data directory (or postgresql:// later)")
    model: str = Field("minilm", description="embedding model for a new store")
    metric: str = Field("cosine", description="cosine, dot or euclidean, for a new store")
    template: str = Field("title,body,tags", description="fields embedded, in order")
    batch_size: int = Field(256, ge=1, le=100_000, description="items per durable write")
