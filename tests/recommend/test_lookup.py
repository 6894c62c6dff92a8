"""The one fetch answers `where` exactly as the store filters: `Lookup.matching` on the
fetched fields equals `Store.matching`, whatever the records and the filter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from likewise.recommend import Lookup
from likewise.store import EmbeddedStore
from likewise.testing.contract import INFO, axis, entry, filters, metadata


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    opened = EmbeddedStore(tmp_path / "d")
    opened.initialize(INFO)
    yield opened
    opened.close()


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    records=st.lists(metadata, min_size=1, max_size=20),
    where=st.one_of(st.none(), filters),
    deleted=st.sets(st.integers(0, 19), max_size=4),
)
def test_the_fetched_fields_filter_as_the_store_does(
    store: EmbeddedStore, records: list[dict[str, Any]], where: Any, deleted: set[int]
) -> None:
    ids = [f"h{k}" for k in range(len(records))]
    store.delete(store.all_ids())
    store.upsert(
        [entry(i, axis(k), **r) for k, (i, r) in enumerate(zip(ids, records, strict=True))]
    )
    store.delete([ids[k] for k in deleted if k < len(ids)])
    asked = [*reversed(ids), "missing"]
    lookup = Lookup.fetch(store, asked)
    assert lookup.matching(asked, where) == store.matching(asked, where)
    assert lookup.vectors(asked).keys() == store.vectors(asked).keys()
    assert lookup.titles(asked) == store.titles(asked)


def test_a_lookup_reads_once_and_answers_what_it_was_not_asked_as_missing(
    store: EmbeddedStore,
) -> None:
    store.upsert([entry("a", axis(0), category="news", tags=["x"]), entry("b", axis(1))])
    lookup = Lookup.fetch(store, ["a", "a", "missing"])
    assert lookup.found is not None and list(lookup.found) == ["a"]
    assert lookup.field("a", "category") == "news" and lookup.field("a", "tags") == ["x"]
    assert lookup.field("missing", "category") is None and lookup.titles(["missing"]) == {}
    assert lookup.vector("missing") is None and lookup.vector("a") is not None
    assert lookup.matching(["missing", "a"], {"tags": "x"}) == ["a"]
    assert lookup.titles(["a", "b"]) == {"a": "title a"}  # b was not fetched


def test_a_lookup_reads_details_only_where_asked(store: EmbeddedStore) -> None:
    store.upsert([entry("a", axis(0), category="news"), entry("b", axis(1))])
    lookup = Lookup.fetch(store, ["a", "b", "missing"], details=["b"])
    assert list(lookup.vectors(["missing", "a", "b"])) == ["a", "b"]
    assert lookup.titles(["a", "b", "missing"]) == {"a": "title a", "b": "title b"}
    assert lookup.field("b", "category") is None
    with pytest.raises(RuntimeError, match="details"):
        lookup.field("a", "category")
    assert lookup.matching(["a", "missing"], None) == ["a"]  # liveness needs no fields
