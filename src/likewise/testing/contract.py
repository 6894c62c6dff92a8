"""`StoreContract`: the tests every Store passes. Subclass it and provide the `open_store` fixture.

Example::

    class TestMyStore(StoreContract):
        @pytest.fixture
        def open_store(self, tmp_path):
            return lambda: MyStore(tmp_path / "data")

`open_store()` must open the *same* store each time it is called (to test reopening).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from likewise.errors import InvalidInput, NotFound
from likewise.filters import matches, parse_where
from likewise.store.base import Store, StoreInfo
from likewise.testing.activity import ActivityContract
from likewise.testing.shadow import ShadowContract
from likewise.testing.spaces import SpacesContract
from likewise.testing.values import DIM, INFO, Opener, axis, entry, unit

__all__ = ["DIM", "INFO", "StoreContract", "axis", "entry", "filters", "metadata", "unit"]

# Small value pools so that generated filters hit generated metadata often.
_scalars = st.one_of(
    st.sampled_from(["a", "b", "c", "2026-01-01", "2026-06-15", "2025-12-31T23:00:00"]),
    st.integers(-3, 3),
    st.sampled_from([0.5, 1.0, 2.5]),
    st.booleans(),
)
_values = st.one_of(_scalars, st.lists(_scalars, max_size=3), st.none())
metadata = st.fixed_dictionaries(
    {},
    optional={
        "f": _values,
        "g": _values,
        "tags": st.lists(st.sampled_from(["a", "b", "c"]), max_size=3, unique=True),
    },
)

_cond = st.one_of(
    _scalars,
    st.fixed_dictionaries({"eq": _scalars}),
    st.fixed_dictionaries({"ne": _scalars}),
    st.fixed_dictionaries({"in": st.lists(_scalars, min_size=1, max_size=3)}),
    st.fixed_dictionaries({"nin": st.lists(_scalars, min_size=1, max_size=3)}),
    st.fixed_dictionaries({"any": st.lists(_scalars, min_size=1, max_size=3)}),
    st.fixed_dictionaries({"all": st.lists(_scalars, min_size=1, max_size=2)}),
    st.dictionaries(
        st.sampled_from(["gt", "gte", "lt", "lte"]),
        st.one_of(st.integers(-3, 3), st.sampled_from(["2026-01-01", "2026-03-01"])),
        min_size=1,
    ),
    st.fixed_dictionaries({"exists": st.booleans()}),
)
_leaf = st.dictionaries(st.sampled_from(["f", "g", "tags"]), _cond, min_size=1, max_size=2)
filters = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.fixed_dictionaries({"$or": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"$and": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"$not": inner}),
    ),
    max_leaves=4,
)


class StoreContract(ActivityContract, SpacesContract, ShadowContract):
    """Behaviour every store must show; subclasses provide `open_store`."""

    @pytest.fixture
    def open_store(self) -> Opener:
        raise NotImplementedError("subclasses provide an open_store fixture")

    @pytest.fixture
    def store(self, open_store: Opener) -> Iterator[Store]:
        store = open_store()
        store.initialize(INFO)
        yield store
        store.close()

    def test_info_is_recorded(self, store: Store) -> None:
        assert store.info == INFO

    def test_get_returns_what_was_written(self, store: Store) -> None:
        store.upsert([entry("a", axis(0), category="news", tags=["x", "y"], price=2.5)])
        (item,) = store.get(["a", "missing"])
        assert item.metadata == {"category": "news", "price": 2.5}
        assert item.tags == ("x", "y")
        assert store.hashes(["a"])["a"][0] == "hash-a-"
        assert store.titles(["a", "missing"]) == {"a": "title a"}

    def test_fetch_reads_vector_fields_and_title_at_once(self, store: Store) -> None:
        store.upsert([entry("a", axis(0), category="news", tags=["x"]), entry("b", axis(1))])
        store.delete(["b"])
        got = store.fetch(["b", "a", "missing"])
        assert list(got) == ["a"]
        assert got["a"].title == "title a"
        assert got["a"].fields == {"category": "news", "tags": ["x"]}
        assert got["a"].vector is not None and np.allclose(got["a"].vector, axis(0))
        assert store.fetch([]) == {}
        store.upsert([entry("c", axis(2), category="sport")])
        some = store.fetch(["a", "c"], details=["c", "missing"])  # details of some only
        assert (some["a"].fields, some["a"].title) == (None, "title a")
        assert (some["c"].fields, some["c"].title) == ({"category": "sport", "tags": []}, "title c")
        assert some["a"].vector is not None and np.allclose(some["a"].vector, axis(0))
        assert {i: f.fields for i, f in store.fetch(["c", "a"], details=[]).items()} == {
            "c": None,
            "a": None,
        }

    def test_nearest_is_search_and_fetch_in_one_read(self, store: Store) -> None:
        store.upsert([entry(f"i{k}", axis(0, tilt=k / 10), c=k % 2) for k in range(6)])
        store.upsert([entry("liked", axis(3)), entry("gone", axis(4))])
        store.delete(["gone"])
        where, skip, also = {"c": 0}, ["i2"], ["liked", "i0", "gone", "missing"]
        got = store.nearest(axis(0), n=2, where=where, exclude=skip, also=also)
        hits = store.search(axis(0), n=2, where=where, exclude=skip)
        assert got.hits == hits and [h.id for h in hits] == ["i0", "i4"]
        fetched = store.fetch(["i0", "i4", *also], details=())
        assert list(got.found) == list(fetched) == ["i0", "i4", "liked"]
        for i, f in got.found.items():
            assert (f.id, f.title, f.fields) == (i, f"title {i}", None)
            same = fetched[i].vector
            assert f.vector is not None and same is not None and np.allclose(f.vector, same)
        nothing = store.nearest(axis(0), n=3, where={"c": 9}, also=["liked"])
        assert nothing.hits == [] and list(nothing.found) == ["liked"]
        with pytest.raises(InvalidInput):
            store.nearest(axis(0), n=0)

    def test_search_is_nearest_first(self, store: Store) -> None:
        store.upsert([entry(f"i{k}", axis(0, tilt=k / 10)) for k in range(6)])
        hits = store.search(axis(0), n=4)
        assert [h.id for h in hits] == ["i0", "i1", "i2", "i3"]
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)
        assert scores[0] == pytest.approx(1.0, abs=1e-5)

    def test_n_larger_than_the_store_returns_everything(self, store: Store) -> None:
        store.upsert([entry(f"i{k}", axis(k)) for k in range(3)])
        assert {h.id for h in store.search(axis(0), n=50)} == {"i0", "i1", "i2"}

    def test_where_and_exclude(self, store: Store) -> None:
        store.upsert(
            [
                entry("n1", axis(0), category="news", published_at="2026-05-01"),
                entry("n2", axis(0, 0.1), category="news", published_at="2025-05-01"),
                entry("s1", axis(0, 0.05), category="sport", published_at="2026-05-01"),
            ]
        )
        where = {"category": "news", "published_at": {"gte": "2026-01-01"}}
        assert [h.id for h in store.search(axis(0), n=5, where=where)] == ["n1"]
        got = store.search(axis(0), n=5, exclude=["n1"])
        assert [h.id for h in got] == ["s1", "n2"]
        assert store.count({"category": "news"}) == 2

    def test_metadata_update_keeps_the_vector(self, store: Store) -> None:
        store.upsert([entry("a", axis(1)), entry("b", axis(2))])
        store.upsert([entry("a", None, category="new")])
        assert store.search(axis(1), n=1, where={"category": "new"})[0].id == "a"
        assert np.allclose(store.vector("a"), axis(1))
        assert store.count() == 2

    def test_delete(self, store: Store) -> None:
        store.upsert([entry("a", axis(1)), entry("b", axis(1, 0.2))])
        assert store.delete(["a", "zz"]) == 1
        assert [h.id for h in store.search(axis(1), n=5)] == ["b"]
        assert store.get(["a"]) == []
        with pytest.raises(NotFound):
            store.vector("a")

    def test_an_id_deleted_and_added_again_is_the_new_item(self, store: Store) -> None:
        store.upsert([entry("a", axis(1)), entry("b", axis(1, 0.3))])
        store.delete(["a"])
        store.upsert([entry("a", axis(4))])
        assert np.allclose(store.vector("a"), axis(4))
        assert [h.id for h in store.search(axis(4), n=1)] == ["a"]
        assert "a" not in {h.id for h in store.search(axis(4), n=5, exclude=["a"])}

    def test_bad_writes_change_nothing(self, store: Store) -> None:
        store.upsert([entry("a", axis(1))])
        with pytest.raises(InvalidInput, match="no vector"):
            store.upsert([entry("b", axis(2)), entry("new", None)])
        with pytest.raises(InvalidInput, match="vector"):
            store.upsert([entry("c", np.ones(DIM + 1, dtype=np.float32))])
        with pytest.raises(InvalidInput, match="not finite"):
            store.upsert([entry("d", np.full(DIM, np.nan, dtype=np.float32))])
        assert store.all_ids() == ["a"]
        assert [h.id for h in store.search(axis(2), n=5)] == ["a"]

    def test_bad_filters_name_the_field(self, store: Store) -> None:
        store.upsert([entry("a", axis(1))])
        with pytest.raises(InvalidInput, match=r"where\.price\.gt"):
            store.search(axis(1), n=1, where={"price": {"gt": "cheap"}})
        with pytest.raises(InvalidInput, match="n"):
            store.search(axis(1), n=0)

    def test_reopen_sees_everything(self, open_store: Opener, store: Store) -> None:
        store.upsert([entry(f"i{k}", axis(k), k=k) for k in range(10)])
        store.upsert([entry("i3", None, k=30)])
        store.delete(["i4"])
        before = store.search(axis(3), n=5, where={"k": {"gte": 2}})
        store.close()
        again = open_store()
        try:
            assert again.info == INFO
            assert again.search(axis(3), n=5, where={"k": {"gte": 2}}) == before
            assert again.count() == 9
            assert np.allclose(again.vector("i3"), axis(3))
            assert set(again.vectors(["i4", "i5", "zz"])) == {"i5"}
            assert [h.id for h in again.search(axis(5), n=1, exclude=["i5"])] != ["i5"]
        finally:
            again.close()

    def test_replace_all_switches_model(self, store: Store) -> None:
        store.upsert([entry("a", axis(0)), entry("b", axis(1))])
        info = StoreInfo("other", 3)
        store.replace_all(info, [entry("a", unit([1, 0, 0])), entry("b", unit([0, 1, 0]))])
        assert store.info == info
        assert store.search(unit([0, 1, 0.1]), n=1)[0].id == "b"

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(records=st.lists(metadata, min_size=1, max_size=25), where=filters)
    def test_filters_agree_with_the_reference(
        self, store: Store, records: list[dict[str, Any]], where: dict[str, Any]
    ) -> None:
        ids = [f"h{k}" for k in range(len(records))]
        store.delete(store.all_ids())
        store.upsert(
            [
                entry(i, axis(k), **{key: v for key, v in r.items() if v is not None})
                for k, (i, r) in enumerate(zip(ids, records, strict=True))
            ]
        )
        node = parse_where(where)
        expected = {
            i
            for i, r in zip(ids, records, strict=True)
            if matches(node, {k: v for k, v in r.items() if v is not None})
        }
        got = store.search(axis(0), n=100, where=where)
        assert {h.id for h in got} == expected
        assert store.count(where) == len(expected)
