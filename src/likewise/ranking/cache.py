"""A cache of hot results: recent answers, dropped when what they depend on changes.

An entry is valid while its user's version and the catalog's version are what they were when
it was stored, and for at most `ttl` seconds (which bounds how stale a list can get from writes
this process does not see: another process's events, popularity moving). A caller may also
give a `stamp` read before the value was computed and again before it is served (the store's
forget mark): a value computed at another stamp is never served. Thread-safe, LRU.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any, Generic, TypeVar

__all__ = ["ResultCache", "where_key"]

V = TypeVar("V")
# What a value was computed from: its user's version, the catalog's, the stamp's.
Version = tuple[int, int, Hashable]


def where_key(where: Mapping[str, Any] | None) -> str:
    """A hashable, order-independent form of a filter (or any JSON), for cache keys."""
    return json.dumps(where, sort_keys=True, default=str) if where else ""


class ResultCache(Generic[V]):
    """`get`/`put` by key, scoped to a user; `touch_user` and `touch_all` invalidate."""

    def __init__(self, *, size: int = 10_000, ttl: float = 30.0) -> None:
        self.size = size
        self.ttl = ttl
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, tuple[float, Version, V]] = OrderedDict()
        self._users: dict[str, int] = {}
        self._catalog = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.size > 0 and self.ttl > 0

    def get(self, user: str, key: Hashable, *, stamp: Hashable = None) -> V | None:
        if not self.enabled:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                stored, version, value = entry
                fresh = time.monotonic() - stored < self.ttl
                now = (self._users.get(user, 0), self._catalog, stamp)
                if fresh and version == now:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return value
                del self._entries[key]
            self.misses += 1
            return None

    def version(self, user: str, *, stamp: Hashable = None) -> Version:
        """Read before computing a value, pass to `put`: a write in between makes it stale."""
        with self._lock:
            return self._users.get(user, 0), self._catalog, stamp

    def put(self, user: str, key: Hashable, value: V, version: Version) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._entries[key] = (time.monotonic(), version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def touch_user(self, *users: str) -> None:
        """These users' results are stale (they did something)."""
        with self._lock:
            for user in users:
                self._users[user] = self._users.get(user, 0) + 1

    def touch_all(self) -> None:
        """Every result is stale (the catalog or the profiles changed)."""
        with self._lock:
            self._catalog += 1
            self._entries.clear()
