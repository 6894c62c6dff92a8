"""likewise: a self-hosted recommendation engine built on embeddings."""

from likewise.client import Client
from likewise.config import (
    ProfileConfig,
    RankingConfig,
    ServiceConfig,
    Settings,
    StoreConfig,
    TrackingConfig,
)
from likewise.embedders import Embedder, HashingEmbedder, get_embedder
from likewise.engine import Engine, IngestReport
from likewise.errors import (
    ConfigError,
    Conflict,
    EmbedderError,
    IngestStopped,
    InvalidInput,
    LikewiseError,
    NotFound,
    StoreError,
    StoreFull,
    StoreUnavailable,
    Unauthorized,
)
from likewise.events import Event, SignalRules
from likewise.items import ContentTemplate, Item
from likewise.personal import RecordReport
from likewise.profiles import ProfileState
from likewise.recommend import Recommendation, Recommended
from likewise.store import EmbeddedStore, Hit, Space, Store, StoreInfo, open_store

__version__ = "0.1.0"

__all__ = [
    "Client",
    "ConfigError",
    "Conflict",
    "ContentTemplate",
    "EmbeddedStore",
    "Embedder",
    "EmbedderError",
    "Engine",
    "Event",
    "HashingEmbedder",
    "Hit",
    "IngestReport",
    "IngestStopped",
    "InvalidInput",
    "Item",
    "LikewiseError",
    "NotFound",
    "ProfileConfig",
    "ProfileState",
    "RankingConfig",
    "Recommendation",
    "Recommended",
    "RecordReport",
    "ServiceConfig",
    "Settings",
    "SignalRules",
    "Space",
    "Store",
    "StoreConfig",
    "StoreError",
    "StoreFull",
    "StoreInfo",
    "StoreUnavailable",
    "TrackingConfig",
    "Unauthorized",
    "__version__",
    "get_embedder",
    "open_store",
]
