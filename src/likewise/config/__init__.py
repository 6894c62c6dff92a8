"""Settings: one small typed config per component, each read from the constructor, the
`LIKEWISE_*` variables (or their `_FILE` forms) and the configuration file, in that order.

Every knob is declared once, in its component; :class:`Settings` composes them and takes them
flat: `Settings(alpha=0.3)`, `LIKEWISE_ALPHA=0.3` and `alpha = 0.3` all reach `profiles.alpha`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import SettingsConfigDict

from likewise.config.base import Component, config_error
from likewise.config.embedding import EmbeddingConfig
from likewise.config.feed import FeedConfig
from likewise.config.images import ImagesConfig
from likewise.config.index import IndexKnobs
from likewise.config.limits import LimitsConfig
from likewise.config.toml import DEFAULT_DATA, dump_toml
from likewise.errors import ConfigError
from likewise.events.policy import UnknownItems
from likewise.events.signals import DEFAULT_WEIGHTS, SignalRules

__all__ = [
    "Component",
    "EmbeddingConfig",
    "FeedConfig",
    "ImagesConfig",
    "LimitsConfig",
    "ProfileConfig",
    "RankingConfig",
    "ServiceConfig",
    "Settings",
    "StoreConfig",
    "TrackingConfig",
    "TrainingConfig",
    "config_error",
    "dump_toml",
]

_SIGNAL_KNOBS = ("dwell_seconds", "rating_like", "rating_dislike", "rating_min", "rating_max")
RECENT_MAX = 500  # positive items a profile remembers (the models' history, `mean`)
REASONS_MAX = 50  # of which the latest this many may explain an item ("because you liked")


class StoreConfig(IndexKnobs, Component):
    """Where the store lives and what a new one is built with."""

    section: ClassVar[str] = "store"

    data: str = Field(DEFAULT_DATA, description="data directory, or postgresql://user@host/db")
    model: str = Field("minilm", description="embedding model for a new store")
    metric: str = Field("cosine", description="cosine, dot or euclidean, for a new store")
    template: str = Field("title,body,tags", description="fields embedded, in order")
    batch_size: int = Field(256, ge=1, le=100_000, description="items per durable write")
    pg_read_urls: str = Field(
        "",
        description="PostgreSQL read replicas, comma-separated postgresql:// URLs: searches, "
        "lists and reports read there; writes, and a writer's next reads, go to `data`",
    )

    @field_validator("pg_read_urls")
    @classmethod
    def _read_urls(cls, urls: str) -> str:
        given = [u.strip() for u in urls.split(",") if u.strip()]
        for k, url in enumerate(given, 1):  # not quoted back: a URL may hold a password
            if not url.lower().startswith(("postgresql://", "postgres://")):
                raise ConfigError(f"setting pg_read_urls: URL {k} is not a postgresql:// URL")
        return urls

    def read_urls(self) -> list[str]:
        """The replicas' URLs, in the order given."""
        return [u.strip() for u in self.pg_read_urls.split(",") if u.strip()]


class ProfileConfig(Component):
    """How events move a profile: the signal each event type gives, and the profile math;
    and what recording does with an event on an unknown item (`unknown_items`).

    alpha: EMA weight of a new positive item. beta: how far a dislike pushes away.
    mean_n: items `mean` averages. snapshot_every / snapshot_seconds: a snapshot of the
    interest vector is kept every that many events, or once that much event time has passed
    (0 turns the clock off). history: snapshots `momentum` reads.
    """

    section: ClassVar[str] = "profiles"

    model_config = SettingsConfigDict(env_prefix="LIKEWISE_", extra="forbid", frozen=True)

    alpha: float = Field(0.2, gt=0, le=1, description="EMA weight of a new positive item")
    beta: float = Field(0.5, ge=0, description="how far a dislike pushes the profile away")
    mean_n: int = Field(
        10, ge=1, le=REASONS_MAX, description="positive items the mean strategy averages"
    )
    snapshot_every: int = Field(10, ge=1, description="events between profile snapshots")
    snapshot_seconds: float = Field(0.0, ge=0, description="event time between snapshots (0: off)")
    history: int = Field(10, ge=2, description="snapshots the momentum strategy reads")
    signals: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS),
        description="signal in [-1, 1] per event type (JSON in the environment)",
    )
    # The thresholds' defaults are SignalRules' own (the rules the events module applies).
    dwell_seconds: float = Field(
        SignalRules.dwell_seconds, ge=0, description="dwell at least this long is positive"
    )
    rating_like: float = Field(
        SignalRules.rating_like, description="rating at or above this is positive"
    )
    rating_dislike: float = Field(
        SignalRules.rating_dislike, description="rating at or below this is a dislike"
    )
    rating_min: float = Field(
        SignalRules.rating_min, description="lowest rating value accepted (0.5: MovieLens)"
    )
    rating_max: float = Field(SignalRules.rating_max, description="highest rating value accepted")
    unknown_items: UnknownItems = Field(
        "reject",
        description="an event on an item not in the store: reject its batch, create the item "
        "(just its id) or skip the event",
    )

    @model_validator(mode="after")
    def _rules(self) -> ProfileConfig:
        self.signal_rules()  # a ConfigError naming the knob: the scale and its thresholds
        return self

    def signal_rules(self) -> SignalRules:
        return SignalRules(
            self.signals,
            self.dwell_seconds,
            self.rating_like,
            self.rating_dislike,
            self.rating_min,
            self.rating_max,
        )

    def profile_math(self) -> dict[str, float]:
        """The knobs the profile math reads (for `likewise profile`)."""
        return self.model_dump(exclude={"signals", "unknown_items", *_SIGNAL_KNOBS})


class RankingConfig(Component):
    """How "for you" lists are made: the default strategy, the hybrid's sources and the
    shaping of the list (freshness, caps, diversity, exploration, context), and its cache."""

    section: ClassVar[str] = "ranking"

    strategy: str = Field(
        "dislike", description="recommend default: dislike/ema/mean/momentum/hybrid"
    )
    hybrid_weights: dict[str, float] | None = Field(
        None,
        description="weights of the sources the hybrid strategy blends (JSON); unset: the "
        "weights `train --tune` stored with the model, else collaborative 1, content 0.5",
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
    fresh_days: float = Field(7.0, gt=0, le=36_500, description="age of items `fresh` offers")
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


class TrainingConfig(Component):
    """What `likewise train` fits from the event log, and how often a server retrains."""

    section: ClassVar[str] = "training"

    ease_lambda: float = Field(500.0, gt=0, le=1e12, description="EASE's L2 penalty (item-item)")
    sequence_lambda: float = Field(100.0, gt=0, le=1e12, description="next-item ridge's L2 penalty")
    sequence_decay: float = Field(
        0.8, gt=0, le=1, description="next-item model: weight of a history item per step of age"
    )
    sequence_window: int = Field(20, ge=1, le=50, description="next-item model: items of history")
    behaviour_rank: int = Field(
        128, ge=2, le=1024, description="behaviour space: dimensions of input and output halves"
    )
    dense_items: int = Field(
        10_000,
        ge=2,
        le=15_000,  # 900 MB a matrix: a blob holds at most 1 GB (SQLite, PostgreSQL)
        description="most active items the dense models and the neural one cover (4 n^2 "
        "bytes each); item-kNN and the content projection serve the rest",
    )
    neural_epochs: int = Field(
        0,
        ge=0,
        description="passes of the neural next-item model (SASRec; needs likewise[neural]); "
        "0: not trained",
    )
    neural_seconds: float = Field(
        900.0, gt=0, description="the neural model's training stops after this many seconds"
    )
    neural_threads: int = Field(
        0, ge=0, description="cores the neural model trains on (0: torch's default, every core)"
    )
    train_every: float = Field(  # at most a year: a thread waits it (OverflowError past time_t)
        0.0, ge=0, le=31_536_000, description="seconds between a server's retrains (0: off)"
    )
    reload_seconds: float = Field(
        5.0, ge=0, description="how often a server checks the store for a newer model"
    )


class TrackingConfig(Component):
    """Which events count as clicks and conversions of a shown list."""

    section: ClassVar[str] = "tracking"

    click_types: list[str] = Field(["click"], description="event types that count as a click")
    conversion_types: list[str] = Field(
        ["purchase"], description="event types that count as a conversion"
    )


class ServiceConfig(Component):
    """The HTTP service: where it binds, its keys, the pages, CORS (its limits: `limits`)."""

    section: ClassVar[str] = "service"

    host: str = Field("127.0.0.1", description="address `likewise serve` binds")
    port: int = Field(8000, ge=0, le=65535, description="port `likewise serve` binds")
    read_keys: list[str] = Field([], description="API keys that may read (JSON list)")
    write_keys: list[str] = Field([], description="API keys that may read and write")
    event_keys: list[str] = Field(
        [], description="API keys that may read and record events (safe to give a browser)"
    )
    site: bool = Field(False, description="serve the demo site and dashboard at / (pages)")
    site_key: str = Field(
        "",
        description="the key the pages send and publish: one of event_keys (a read or write "
        "key is refused; the admin page asks for a write key)",
    )
    cors_origins: list[str] = Field(
        [],
        description="origins whose pages may call the API from a browser (CORS), e.g. "
        '["https://shop.example.com"] (JSON list; "*" for any; none: CORS off)',
    )
    log_format: Literal["human", "json"] = Field(
        "human", description="`likewise serve`'s logs: a readable line, or one JSON object a line"
    )

    @field_validator("read_keys", "write_keys", "event_keys")
    @classmethod
    def _keys(cls, keys: list[str], info: ValidationInfo) -> list[str]:
        if any(not key.strip() for key in keys):  # it was dropped, leaving the API open
            raise ConfigError(
                f"setting {info.field_name}: an empty or blank key is refused (it would let "
                "anyone in); give keys of at least one visible character"
            )
        return keys

    @model_validator(mode="after")
    def _site_key(self) -> Self:
        """The pages publish their key: only an events key may be that."""
        key = self.site_key
        if key and (key in self.write_keys or key in self.read_keys):
            role = "a write key" if key in self.write_keys else "a read key"
            raise ConfigError(
                f"setting site_key: it is {role}, and every page would publish it; give an "
                "events key (event_keys), which may only read and record events"
            )
        keyed = self.read_keys or self.write_keys or self.event_keys
        if key and keyed and key not in self.event_keys:
            raise ConfigError("setting site_key: it must be one of event_keys")
        return self

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin != "*" and not _is_origin(origin):
                raise ConfigError(
                    f"setting cors_origins: {origin!r} is not an origin; give "
                    "scheme://host[:port] with no path, e.g. https://shop.example.com"
                )
        return origins


def _is_origin(text: str) -> bool:
    """`scheme://host[:port]`, as a browser sends it in `Origin`: lower case, no path."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and text == f"{parts.scheme}://{parts.netloc}"
        and "@" not in parts.netloc
        and text == text.strip().lower()  # as browsers send it: CORS compares exactly
    )


class Settings(BaseModel):
    """Defaults for :meth:`likewise.Engine.open`, the CLI and the service, by component.

    Example:
        >>> Settings(cache_size=0).ranking.cache_size
        0
        >>> Settings(ranking=RankingConfig(strategy="hybrid")).ranking.strategy
        'hybrid'
    """

    model_config = ConfigDict(extra="forbid")
    COMPONENTS: ClassVar[dict[str, type[Component]]] = {
        kind.section: kind
        for kind in (
            StoreConfig,
            ProfileConfig,
            RankingConfig,
            TrackingConfig,
            ServiceConfig,
            TrainingConfig,
            LimitsConfig,
            EmbeddingConfig,
            ImagesConfig,
            FeedConfig,
        )
    }

    store: StoreConfig = Field(default_factory=StoreConfig)
    profiles: ProfileConfig = Field(default_factory=ProfileConfig)
    ranking: RankingConfig = Field(default_factory=RankingConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    service: ServiceConfig = Field(default_factory=ServiceConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    images: ImagesConfig = Field(default_factory=ImagesConfig)
    feed: FeedConfig = Field(default_factory=FeedConfig)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise config_error(exc) from None

    @model_validator(mode="before")
    @classmethod
    def _route_flat_knobs(cls, values: Any) -> Any:
        """Give each flat knob (`cache_size=0`) to the component that declares it."""
        if not isinstance(values, dict):
            return values
        out: dict[str, Any] = {}
        flat: dict[str, dict[str, Any]] = {}
        for key, value in values.items():
            owner = _OWNER.get(key)
            if key in cls.COMPONENTS or owner is None:
                out[key] = value
            else:
                flat.setdefault(owner, {})[key] = value
        for name, given in flat.items():
            if name in out:
                raise ConfigError(f"setting {name}: give it whole or its knobs flat, not both")
            out[name] = cls.COMPONENTS[name](**given)
        return out


_OWNER = {knob: name for name, kind in Settings.COMPONENTS.items() for knob in kind.model_fields}
