"""One uncached "for you" list reads the store a few times, each thing once: the user, one
search or ranking per source that needs one, and one fetch of every candidate (the fields
and titles only of the items a step reads them of); a profile list with no field to check,
one `nearest` (its search and that fetch in one read). A real SQLite store behind a
counting proxy."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from likewise import Engine, Recommended, Settings
from likewise.embedders.registry import get_embedder
from likewise.store import EmbeddedStore, Store

Run = Callable[..., tuple[Counter[str], list[Recommended]]]
POPULAR_ON = {"collaborative": 1.0, "content": 0.5, "popular": 0.3}
WHERE = {"category": {"in": ["a", "b"]}}
SHAPING = {
    "freshness_half_life_days": 30,
    "category_cap": 2,
    "category_rotation": True,
    "diversity": 0.3,
    "context_rules": [{"when": {"device": "m"}, "boost": {"category": "a"}, "weight": 0.5}],
}


class Counting:
    """A store that counts the calls made through it; every call reaches the real store."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        if not callable(value):
            return value

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return value(*args, **kwargs)

        return counted


@pytest.fixture(scope="module")
def location(tmp_path_factory: pytest.TempPathFactory) -> str:
    """60 items in three categories, ten users with likes, clicks and views, a trained model."""
    path = str(tmp_path_factory.mktemp("calls") / "d")
    now = datetime.now(UTC)
    topics = ["space", "food", "art"]
    with Engine.open(path, model="hashing-64", settings=Settings(cache_size=0)) as engine:
        engine.add_items(
            [
                {
                    "id": f"i{k}",
                    "title": f"item {k} about {topics[k % 3]}",
                    "category": "abc"[k % 3],
                    "published_at": (now - timedelta(days=k)).isoformat(),
                }
                for k in range(60)
            ]
        )
        for u in range(10):
            for j in range(8):
                engine.record(f"u{u}", f"i{(u * 7 + j * 5) % 60}", ("like", "click", "view")[j % 3])
        assert engine.train()["items"] > 0
    return path


@pytest.fixture
def counted(location: str) -> Iterator[Run]:
    engines: list[Engine] = []

    def run(settings: dict[str, Any], **request: Any) -> tuple[Counter[str], list[str]]:
        store = Counting(EmbeddedStore(location))
        engine = Engine(cast(Store, store), get_embedder("hashing-64"), Settings(**settings))
        engines.append(engine)
        engine.recommend("u1", n=5, track=False, **request)  # loads the trained model
        store.calls.clear()
        rec = engine.recommend("u1", n=5, track=False, **request)
        assert len(rec.items) == 5 and not rec.cached
        return store.calls, rec.items

    yield run
    for engine in engines:
        engine.close()


HYBRID = ["user", "search", "fetch"]  # content searched, every candidate fetched once
PROFILE = ["user", "nearest"]  # no field to check: the search reads the liked items' too


@pytest.mark.parametrize(
    ("settings", "request_", "expected"),
    [
        pytest.param({}, {"strategy": "hybrid"}, HYBRID, id="hybrid"),
        pytest.param(
            {},
            {"strategy": "hybrid", "weights": POPULAR_ON},
            [*HYBRID, "popular"],
            id="hybrid-popular-on",
        ),
        pytest.param({}, {"strategy": "hybrid", "where": WHERE}, HYBRID, id="hybrid-where"),
        pytest.param(
            {},
            {"strategy": "hybrid", "where": WHERE, "weights": POPULAR_ON},
            [*HYBRID, "popular"],
            id="hybrid-where-popular-on",
        ),
        pytest.param(
            SHAPING,
            {"strategy": "hybrid", "context": {"device": "m"}},
            HYBRID,
            id="hybrid-fresh-caps-rotation-diversity-boost",
        ),
        pytest.param({}, {"strategy": "dislike"}, PROFILE, id="dislike"),
        pytest.param({}, {"strategy": "dislike", "where": WHERE}, PROFILE, id="dislike-where"),
        pytest.param(
            SHAPING,
            {"strategy": "dislike", "context": {"device": "m"}},
            ["user", "search", "fetch"],  # the boost checks fields: one fetch
            id="dislike-boost",
        ),
    ],
)
def test_an_uncached_list_reads_each_thing_once(
    counted: Run, settings: dict[str, Any], request_: dict[str, Any], expected: list[str]
) -> None:
    calls, items = counted({"cache_size": 0, **settings}, **request_)
    assert any(r.because for r in items)  # reasons were explained from the same reads
    assert calls == Counter(expected), calls
    assert sum(calls.values()) <= 4


@pytest.mark.parametrize(
    ("strategy", "first"),
    [
        pytest.param("mean", "vectors", id="mean"),  # the liked items' vectors, to average
        pytest.param("momentum", "snapshots", id="momentum"),
    ],
)
def test_a_profile_strategy_with_a_read_of_its_own_makes_four(
    counted: Run, strategy: str, first: str
) -> None:
    calls, _ = counted({"cache_size": 0}, strategy=strategy)
    assert calls == Counter([*PROFILE, first]), calls


def test_the_blend_really_asks_popular(
    counted: Run,
) -> None:
    calls, items = counted({"cache_size": 0}, strategy="hybrid", weights={"popular": 1.0})
    assert {r.reason for r in items} == {"popular"}
    assert calls == Counter([*HYBRID, "popular"])


@pytest.mark.parametrize(
    ("cache_size", "track", "marks"),
    [
        pytest.param(0, False, 0, id="uncached-untracked"),  # nothing depends on the mark
        pytest.param(0, True, 0, id="uncached-tracked"),  # the impression's, read with the user
        pytest.param(100, False, 1, id="cached-untracked"),  # the cache entry's stamp
        pytest.param(100, True, 1, id="cached-tracked"),  # one read serves both
    ],
)
def test_the_forget_mark_is_read_apart_only_for_the_cache(
    location: str, cache_size: int, track: bool, marks: int
) -> None:
    store = Counting(EmbeddedStore(location))
    settings = Settings(cache_size=cache_size)
    with Engine(cast(Store, store), get_embedder("hashing-64"), settings) as engine:
        engine.recommend("u2", n=5, track=track, strategy="ema")
        store.calls.clear()
        rec = engine.recommend("u2", n=5, track=track, strategy="ema", exclude=["i0"])
        assert not rec.cached and rec.items
        assert store.calls["forget_mark"] == marks, store.calls
        assert store.calls["user"] == 1


class Forgetting(Counting):
    """A store where each user is forgotten just after a list has read them."""

    def user(self, user_id: str, **kwargs: Any) -> Any:
        read = self.inner.user(user_id, **kwargs)
        self.inner.forget_user(user_id)
        return read


def test_a_list_whose_user_is_forgotten_after_the_read_logs_no_impression(
    location: str, tmp_path: Any
) -> None:
    """The impression's forget mark is the one read with the user, not a later one: a forget
    landing between the read and the impression's write keeps the impression out."""
    path = str(tmp_path / "d")
    shutil.copytree(location, path)
    forgetting = Forgetting(EmbeddedStore(path))
    with Engine(cast(Store, forgetting), get_embedder("hashing-64"), Settings()) as engine:
        assert engine.recommend("u3", n=5, strategy="ema").items
        with Engine(EmbeddedStore(path), get_embedder("hashing-64"), Settings()) as other:
            assert other.recommend("u4", n=5, strategy="ema").items  # not forgotten: logged
    store = EmbeddedStore(path)
    assert store.shown("u3") == {} and store.user("u3")[:2] == (None, [])
    assert len(store.shown("u4")) == 5
    store.close()
