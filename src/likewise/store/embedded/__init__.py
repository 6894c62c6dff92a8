"""The embedded store: SQLite (WAL) in a data directory, with an in-memory index per space."""

from likewise.store.embedded.ann import AnnConfig
from likewise.store.embedded.store import EmbeddedStore

__all__ = ["AnnConfig", "EmbeddedStore"]
