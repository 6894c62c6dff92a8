"""Stores: items, their vectors in named spaces, filtered vector search and the activity
recorded about them, chosen by a location string."""

from __future__ import annotations

import re
from collections.abc import Sequence

from likewise.errors import ConfigError
from likewise.store.base import (
    METRICS,
    TEXT,
    Entry,
    Fetched,
    Hit,
    Metric,
    Space,
    Store,
    StoreInfo,
    metric_of,
)
from likewise.store.checks import MAX_DIM
from likewise.store.embedded import AnnConfig, EmbeddedStore
from likewise.store.embedded.storage import DEFAULT as DEFAULT_STORAGE
from likewise.store.embedded.storage import check_storage
from likewise.store.location import split_vectors

__all__ = [
    "MAX_DIM",
    "METRICS",
    "TEXT",
    "AnnConfig",
    "EmbeddedStore",
    "Entry",
    "Fetched",
    "Hit",
    "Metric",
    "Space",
    "Store",
    "StoreInfo",
    "metric_of",
    "open_store",
]

KNOWN_LOCATIONS = (
    "a directory path (embedded store) or postgresql://user@host/db "
    "(with ?vectors=milvus://host:port for the vectors in Milvus)"
)


def open_store(
    location: str, *, read_urls: Sequence[str] = (), vector_storage: str = DEFAULT_STORAGE
) -> Store:
    """The store at `location`: a directory path, or ``postgresql://...`` (PostgreSQL with
    pgvector; needs ``pip install 'likewise[postgres]'``), whose reads may go to the
    replicas at `read_urls` (the setting `pg_read_urls`); with ``?vectors=milvus://host:port``
    its vectors in Milvus (``likewise[milvus]`` too; without replicas, for now).
    `vector_storage` is how a new embedded store keeps its vectors (`float32` or `fp16`)."""
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", location)
    name = "" if scheme is None else scheme.group(1).lower()
    if read_urls and name not in ("postgresql", "postgres"):
        raise ConfigError("setting pg_read_urls: read replicas need a postgresql:// store")
    ann = AnnConfig(storage=check_storage(vector_storage))
    if vector_storage != DEFAULT_STORAGE and name not in ("", "file"):
        raise ConfigError(
            f"setting vector_storage: {vector_storage} is for the embedded store; "
            f"{name}:// keeps float32",
            field="vector_storage",
        )
    if scheme is None:
        if not location.strip():
            raise ConfigError(f"empty data location; use {KNOWN_LOCATIONS}")
        return EmbeddedStore(location, ann=ann)
    if name == "file":
        return EmbeddedStore(location[len("file://") :], ann=ann)
    if name in ("postgresql", "postgres"):
        try:
            from likewise.store.postgres import PostgresStore
        except ImportError as exc:
            raise ConfigError(
                f"the PostgreSQL backend needs psycopg, psycopg-pool and pgvector ({exc.name} is "
                "missing): pip install 'likewise[postgres]'"
            ) from None
        database, vectors = split_vectors(location)
        if vectors is not None:
            if read_urls:
                raise ConfigError(
                    "setting pg_read_urls: read replicas are not supported yet with the "
                    "vectors in Milvus (?vectors=milvus://...)"
                )
            return _with_milvus(database, vectors)
        return PostgresStore(location, read_urls=read_urls)
    if name in ("http", "https"):
        raise ConfigError(
            f"{name}:// is a likewise server, not a store: call it with "
            "likewise.Client(url, api_key=...), which has the Engine's methods"
        )
    raise ConfigError(f"unknown location scheme {name!r}; use {KNOWN_LOCATIONS}")


def _with_milvus(database: str, vectors: str) -> Store:
    try:
        from likewise.store.milvus import MilvusStore
    except ImportError as exc:
        raise ConfigError(
            f"vectors in Milvus need psycopg, pgvector and pymilvus ({exc.name} is missing): "
            "pip install 'likewise[postgres,milvus]'",
            field="vectors",
        ) from None
    return MilvusStore(database, vectors)
