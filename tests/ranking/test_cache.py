"""The cache of hot results: hits, and every way an entry goes stale."""

from __future__ import annotations

import time
from pathlib import Path

from likewise import Engine, Settings
from likewise.ranking import ResultCache


def test_hits_misses_and_invalidation() -> None:
    cache: ResultCache[str] = ResultCache(size=2, ttl=60)
    assert cache.get("u1", "k1") is None
    cache.put("u1", "k1", "v1", cache.version("u1"))
    assert cache.get("u1", "k1") == "v1"
    cache.touch_user("u2")
    assert cache.get("u1", "k1") == "v1"  # another user's event changes nothing here
    cache.touch_user("u1")
    assert cache.get("u1", "k1") is None
    cache.put("u1", "k1", "v1", cache.version("u1"))
    cache.touch_all()
    assert cache.get("u1", "k1") is None
    assert (cache.hits, cache.misses) == (2, 3)


def test_a_value_computed_across_a_write_is_never_served() -> None:
    cache: ResultCache[str] = ResultCache()
    version = cache.version("u1")  # read before computing ...
    cache.touch_user("u1")  # ... an event lands meanwhile ...
    cache.put("u1", "k", "stale", version)  # ... so the stored value is already old
    assert cache.get("u1", "k") is None


def test_a_value_is_served_only_at_the_stamp_it_was_computed_at() -> None:
    """The stamp is the store's forget mark, read when a request begins: a value computed
    before another process's forget is never served after it, even one computed before and
    stored after."""
    cache: ResultCache[str] = ResultCache()
    cache.put("u1", "k", "v", cache.version("u1", stamp=0))
    assert cache.get("u1", "k", stamp=0) == "v"
    assert cache.get("u1", "k", stamp=1) is None  # forgotten elsewhere since
    version = cache.version("u1", stamp=1)  # begun at 1 ...
    cache.put("u1", "k", "stale", version)  # ... and stored after a forget raised it to 2
    assert cache.get("u1", "k", stamp=2) is None


def test_ttl_and_size_bound_the_cache() -> None:
    cache: ResultCache[int] = ResultCache(size=2, ttl=0.05)
    for k in range(3):
        cache.put("u", k, k, cache.version("u"))
    assert cache.get("u", 0) is None and cache.get("u", 2) == 2  # least recent evicted
    time.sleep(0.06)
    assert cache.get("u", 2) is None
    off: ResultCache[int] = ResultCache(size=0)
    off.put("u", 1, 1, off.version("u"))
    assert off.get("u", 1) is None


def test_engine_serves_repeats_from_the_cache_until_something_changes(tmp_path: Path) -> None:
    with Engine.open(str(tmp_path / "d"), model="hashing-64") as engine:
        engine.add_items([{"id": f"i{k}", "title": f"item {k % 3} {k}"} for k in range(12)])
        engine.record("u1", "i1", "like")
        first = engine.recommend("u1", n=3)
        again = engine.recommend("u1", n=3)
        assert again.cached and not first.cached
        assert again.items == first.items and again.id != first.id
        assert not engine.recommend("u1", n=4).cached  # another question
        engine.record("u1", again.items[0].id, "click")
        after = engine.recommend("u1", n=3)
        assert not after.cached and again.items[0].id not in {r.id for r in after.items}
        engine.add_items([{"id": "new", "title": "item 1 new"}])
        assert not engine.recommend("u1", n=3).cached
    settings = Settings(cache_size=0)
    with Engine.open(str(tmp_path / "d"), settings=settings) as engine:
        engine.recommend("u1", n=3)
        assert not engine.recommend("u1", n=3).cached


def test_similar_lists_are_cached_until_the_catalog_changes(tmp_path: Path) -> None:
    with Engine.open(str(tmp_path / "d"), model="hashing-64") as engine:
        engine.add_items([{"id": f"i{k}", "title": f"item {k % 3} {k}"} for k in range(12)])
        first = engine.similar("i1", n=3)
        assert engine.similar("i1", n=3) == first
        assert engine.stats()["cache"]["similar"] == {"hits": 1, "misses": 1}
        engine.add_items([{"id": "i1b", "title": "item 1 1"}])  # a twin of i1 arrives
        assert engine.similar("i1", n=3)[0].id == "i1b"  # the same question, answered anew
        assert engine.stats()["cache"]["similar"] == {"hits": 1, "misses": 2}
