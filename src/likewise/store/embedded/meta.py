"""The embedded store's `meta` table, read in one query: what the store was built with (how
its indexes keep vectors too), its vector spaces, the generation of each space's labels
(bumped when they are renumbered) and the shadow a reembed fills."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from likewise.store.base import TEXT, Space, StoreInfo
from likewise.store.embedded.ann import AnnConfig
from likewise.store.embedded.storage import DEFAULT, Storage, check_storage
from likewise.store.shadow import Shadow

__all__ = [
    "Meta",
    "catalog_writes",
    "count_catalog_write",
    "info_meta",
    "read_meta",
    "set_meta",
    "spaces_meta",
    "versions",
]

# Bumped by every write of the catalog (items, vectors, spaces, the meta entries), in its
# transaction: a reader that holds the same count need not catch up when only events,
# profiles or other rows changed (a recorded event is otherwise followed by a full `_sync`).
_WRITES = "catalog_writes"


@dataclass(frozen=True)
class Meta:
    info: StoreInfo | None
    spaces: dict[str, Space]  # `text` first; empty until the store is initialised
    generations: dict[str, int]
    shadow: Shadow | None = None  # the model a reembed is filling the shadow with
    storage: Storage = DEFAULT  # how its indexes keep vectors (storage.py)

    def generation(self, space: str) -> int:
        return self.generations.get(space, 0)

    def ann(self, given: AnnConfig) -> AnnConfig:
        """`given`, with the storage this store was created with once it is initialised (a
        store opens as it was built, whatever the opener was given for a new one)."""
        return given if self.info is None else replace(given, storage=self.storage)


def read_meta(db: sqlite3.Connection) -> Meta:
    values = dict(db.execute("SELECT key, value FROM meta").fetchall())
    generations = {TEXT: int(values.get("generation", 0))}
    generations |= {k.split(":", 1)[1]: int(v) for k, v in values.items() if k.startswith("gen:")}
    if "model_id" not in values:
        return Meta(None, {}, generations)
    metric: Any = values.get("metric") or "cosine"
    template = values.get("template") or "title,body,tags"
    info = StoreInfo(values["model_id"], int(values.get("dim") or 0), metric, template)
    others = json.loads(values.get("spaces") or "{}")
    spaces = {TEXT: info.text} | {n: Space(n, s["dim"], s["metric"]) for n, s in others.items()}
    shadow = json.loads(values["shadow"]) if "shadow" in values else None
    shadowed = shadow and Shadow(shadow["model_id"], shadow["dim"])
    storage = check_storage(values.get("vector_storage") or DEFAULT)
    return Meta(info, spaces, generations, shadowed, storage)


def count_catalog_write(db: sqlite3.Connection) -> None:
    db.execute(
        f"INSERT INTO meta(key, value) VALUES ('{_WRITES}', '1') ON CONFLICT(key) DO UPDATE "
        "SET value = CAST(value AS INTEGER) + 1"
    )


def catalog_writes(db: sqlite3.Connection) -> str | None:
    """The count of catalog writes committed (None before the first, or from an older
    likewise, which did not count them)."""
    return versions(db)[1]


def versions(db: sqlite3.Connection) -> tuple[int, str | None]:
    """SQLite's `data_version` of `db` (it moves with any other connection's commit) and
    `catalog_writes`, in one statement: what a reader looks at to know whether to catch up."""
    version, writes = db.execute(
        f"SELECT data_version, (SELECT value FROM meta WHERE key = '{_WRITES}') "
        "FROM pragma_data_version"
    ).fetchone()
    return int(version), None if writes is None else str(writes)


def set_meta(db: sqlite3.Connection, values: Mapping[str, str]) -> None:
    db.executemany(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        list(values.items()),
    )


def info_meta(info: StoreInfo, storage: Storage | None = None) -> dict[str, str]:
    """The entries of `info`; with `storage`, of a new store (a reembed keeps the storage)."""
    kept = {} if storage is None else {"vector_storage": storage}
    return {
        "model_id": info.model_id,
        "dim": str(info.dim),
        "metric": info.metric,
        "template": info.template,
        **kept,
    }


def spaces_meta(spaces: Mapping[str, Space]) -> dict[str, str]:
    """The `spaces` entry: every space but `text` (which `StoreInfo` describes)."""
    others = {n: {"dim": s.dim, "metric": s.metric} for n, s in spaces.items() if n != TEXT}
    return {"spaces": json.dumps(others)}
