"""likewise: a self-hosted recommendation engine built on embeddings."""

from likewise.config import Settings
from likewise.embedders import Embedder, HashingEmbedder, get_embedder
from likewise.engine import Engine, IngestReport
from likewise.errors import (
    ConfigError,
    EmbedderError,
    InvalidInput,
    LikewiseError,
    NotFound,
    StoreError,
)
from likewise.events import Event, SignalRules
from likewise.items import ContentTemplate, Item
from likewise.personal import Recommendation, Recommended, RecordReport
from likewise.profiles import ProfileConfig, ProfileState
from likewise.store import EmbeddedStore, Hit, Store, StoreInfo, open_store

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "ContentTemplate",
    "EmbeddedStore",
    "Embedder",
    "EmbedderError",
    "Engine",
    "Event",
    "HashingEmbedder",
    "Hit",
    "IngestReport",
    "InvalidInput",
    "Item",
    "LikewiseError",
    "NotFound",
    "ProfileConfig",
    "ProfileState",
    "Recommendation",
    "Recommended",
    "RecordReport",
    "Settings",
    "SignalRules",
    "Store",
    "StoreError",
    "StoreInfo",
    "get_embedder",
    "open_store",
]
