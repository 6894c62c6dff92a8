"""The embedded store's `meta` table, read in one query: what the store was built with, its
vector spaces, the generation of each space's labels (bumped when they are renumbered) and
the shadow a reembed fills."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from likewise.store.base import TEXT, Space, StoreInfo
from likewise.store.shadow import Shadow

__all__ = ["Meta", "info_meta", "read_meta", "set_meta", "spaces_meta"]


@dataclass(frozen=True)
class Meta:
    info: StoreInfo | None
    spaces: dict[str, Space]  # `text` first; empty until the store is initialised
    generations: dict[str, int]
    shadow: Shadow | None = None  # the model a reembed is filling the shadow with

    def generation(self, space: str) -> int:
        return self.generations.get(space, 0)


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
    return Meta(info, spaces, generations, shadow and Shadow(shadow["model_id"], shadow["dim"]))


def set_meta(db: sqlite3.Connection, values: Mapping[str, str]) -> None:
    db.executemany(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        list(values.items()),
    )


def info_meta(info: StoreInfo) -> dict[str, str]:
    return {
        "model_id": info.model_id,
        "dim": str(info.dim),
        "metric": info.metric,
        "template": info.template,
    }


def spaces_meta(spaces: Mapping[str, Space]) -> dict[str, str]:
    """The `spaces` entry: every space but `text` (which `StoreInfo` describes)."""
    others = {n: {"dim": s.dim, "metric": s.metric} for n, s in spaces.items() if n != TEXT}
    return {"spaces": json.dumps(others)}
