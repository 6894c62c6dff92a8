"""Settings, from arguments or `LIKEWISE_*` environment variables."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from likewise.events.signals import DEFAULT_WEIGHTS, SignalRules
from likewise.profiles.state import ProfileConfig

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Defaults for :meth:`likewise.Engine.open` and the CLI.

    Every field can be set in the environment: `LIKEWISE_DATA=./shop-data`, `LIKEWISE_MODEL=...`.
    """

    model_config = SettingsConfigDict(env_prefix="LIKEWISE_", extra="ignore")

    data: str = Field("./likewise-data", description="data directory, or postgresql://user@host/db")
    model: str = Field("minilm", description="embedding model for a new store")
    metric: str = Field("cosine", description="cosine, dot or euclidean, for a new store")
    template: str = Field("title,body,tags", description="fields embedded, in order")
    batch_size: int = Field(256, ge=1, le=100_000, description="items per durable write")

    strategy: str = Field(
        "dislike", description="recommend default: dislike/ema/mean/momentum/hybrid"
    )
    alpha: float = Field(0.2, gt=0, le=1, description="EMA weight of a new positive item")
    beta: float = Field(0.5, ge=0, description="how far a dislike pushes the profile away")
    mean_n: int = Field(10, ge=1, le=50, description="positive items the mean strategy averages")
    snapshot_every: int = Field(10, ge=1, description="events between profile snapshots")
    snapshot_seconds: float = Field(0.0, ge=0, description="event time between snapshots (0: off)")
    history: int = Field(10, ge=2, description="snapshots the momentum strategy reads")
    signals: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS),
        description="signal in [-1, 1] per event type (JSON in the environment)",
    )
    dwell_seconds: float = Field(30.0, ge=0, description="dwell at least this long is positive")
    rating_like: float = Field(4.0, description="rating at or above this is positive")
    rating_dislike: float = Field(2.0, description="rating at or below this is a dislike")

    hybrid_weights: dict[str, float] = Field(
        default_factory=lambda: {"collaborative": 1.0, "content": 0.5, "popular": 0.0},
        description="weights of the sources the hybrid strategy blends (JSON)",
    )
    diversity: float = Field(
        0.0, ge=0, le=1, description="relevance/variety trade-off of the hybrid (0: off)"
    )
    diversity_method: Literal["dpp", "mmr"] = Field(
        "dpp", description="how diversity picks: a greedy DPP (measured better) or MMR"
    )
    popular_by: Literal["all-time", "trending"] = Field(
        "all-time", description="popular lists: summed signal, or weighted by age (7-day half-life)"
    )
    fresh_days: float = Field(7.0, gt=0, description="age of items the fresh source offers")
    freshness_half_life_days: float = Field(
        0.0, ge=0, description="hybrid scores halve with published_at age (0: off)"
    )
    freshness_shape: Literal["exponential", "gaussian"] = Field("exponential")
    category_cap: int = Field(0, ge=0, description="most items per category in a list (0: off)")
    category_field: str = Field(
        "category", description="the metadata key category_cap and category_rotation read"
    )
    category_rotation: bool = Field(
        False, description="reorder hybrid lists so neighbours differ in category"
    )
    rest_after: int = Field(
        0, ge=0, description="leave out items shown this often (last 50 lists) unclicked (0: off)"
    )
    exploration: float = Field(
        0.0, ge=0, le=0.5, description="share of slots given to popular items outside the list"
    )
    context_rules: list[dict[str, Any]] = Field(
        [],
        description='boost or filter by request context, e.g. [{"when": {"device": "mobile"}, '
        '"boost": {"category": "short"}, "weight": 0.2}] (JSON)',
    )
    cache_size: int = Field(10_000, ge=0, description="recommendation lists kept (0: no cache)")
    cache_seconds: float = Field(30.0, ge=0, description="longest a cached list is served")

    click_types: list[str] = Field(["click"], description="event types that count as a click")
    conversion_types: list[str] = Field(
        ["purchase"], description="event types that count as a conversion"
    )

    host: str = Field("127.0.0.1", description="address `likewise serve` binds")
    port: int = Field(8000, ge=0, le=65535, description="port `likewise serve` binds")
    read_keys: list[str] = Field([], description="API keys that may read (JSON list)")
    write_keys: list[str] = Field([], description="API keys that may read and write")
    event_keys: list[str] = Field(
        [], description="API keys that may read and record events (safe to give a browser)"
    )
    site: bool = Field(False, description="serve the demo site and dashboard at / (pages)")
    site_key: str = Field(
        "", description="the key the pages send: a read or event key (a write key is asked for)"
    )
    max_body_bytes: int = Field(10_000_000, ge=1, description="largest request body accepted")

    def profile_config(self) -> ProfileConfig:
        return ProfileConfig(
            self.alpha,
            self.beta,
            self.mean_n,
            self.snapshot_every,
            self.snapshot_seconds,
            self.history,
        )

    def signal_rules(self) -> SignalRules:
        return SignalRules(self.signals, self.dwell_seconds, self.rating_like, self.rating_dislike)
