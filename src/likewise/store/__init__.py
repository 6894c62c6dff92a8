"""Stores: items, vectors and filtered vector search, chosen by a location string."""

from __future__ import annotations

import re

from likewise.errors import ConfigError
from likewise.store.ann import AnnConfig
from likewise.store.base import METRICS, Entry, Hit, Metric, Store, StoreInfo, metric_of
from likewise.store.embedded import EmbeddedStore
from likewise.store.filters import matches, parse_where

__all__ = [
    "METRICS",
    "AnnConfig",
    "EmbeddedStore",
    "Entry",
    "Hit",
    "Metric",
    "Store",
    "StoreInfo",
    "matches",
    "metric_of",
    "open_store",
    "parse_where",
]

KNOWN_LOCATIONS = "a directory path (embedded store); postgresql://... (coming in a later release)"


def open_store(location: str) -> Store:
    """The store at `location`: a directory path, or (later) ``postgresql://...``."""
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", location)
    if scheme is None:
        if not location.strip():
            raise ConfigError(f"empty data location; use {KNOWN_LOCATIONS}")
        return EmbeddedStore(location)
    name = scheme.group(1).lower()
    if name == "file":
        return EmbeddedStore(location[len("file://") :])
    if name in ("postgresql", "postgres"):
        raise ConfigError("the PostgreSQL backend is not available in this release yet")
    raise ConfigError(f"unknown location scheme {name!r}; use {KNOWN_LOCATIONS}")
