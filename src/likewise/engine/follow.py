"""Another server's writes, heard through the store, drop this server's cached lists.

A store shared by several servers tells each of them what the others commit
(`Store.subscribe`: PostgreSQL through LISTEN/NOTIFY, the embedded store through its
`changes` table, polled): a user's events stale that user's lists, a new trained model is
loaded at once, and anything else (the catalog, profiles, a forget) stales every list.
"""

from __future__ import annotations

from typing import Any, Protocol

from likewise.personal import Personaliser
from likewise.store import Store

__all__ = ["follow"]


class Engine(Protocol):
    """What of the Engine a change reaches (the Engine itself: core.py imports this)."""

    store: Store
    personal: Personaliser

    def _catalog_changed(self) -> None: ...


def follow(engine: Engine) -> None:
    """Subscribe `engine`'s caches to its store's changes, if the store tells any."""
    subscribe = getattr(engine.store, "subscribe", None)
    if subscribe is not None:
        subscribe(lambda change: _changed(engine, change))


def _changed(engine: Engine, change: Any) -> None:
    if change.model:
        engine.personal.stale()
    if change.users is None:
        engine._catalog_changed()  # both caches: related items and "for you" lists
    else:
        engine.personal.cache.touch_user(*change.users)
    if change.model:
        engine.personal.cache.touch_all()
