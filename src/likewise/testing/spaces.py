"""The named-spaces half of the store contract (mixed into `StoreContract`): two spaces of
different dimensions and metrics, searched, filtered, reopened and profiled apart."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from likewise.errors import ConfigError, InvalidInput, NotFound
from likewise.events.model import Event
from likewise.profiles.state import ProfileState, Snapshot
from likewise.store.base import Space, Store
from likewise.testing.values import DIM, INFO, Opener, axis, entry

__all__ = ["BEHAVIOUR", "SpacesContract"]

BEHAVIOUR = Space("behaviour", 3, "dot")


def _b(*values: float) -> np.ndarray[tuple[int], np.dtype[np.float32]]:
    return np.asarray(values, dtype=np.float32)


def _by_space(
    state: ProfileState, todo: Sequence[tuple[Event, float]]
) -> tuple[ProfileState, list[Snapshot]]:
    """A stand-in update that writes a vector of the space's own size, and a snapshot."""
    size = DIM if state.space == "text" else BEHAVIOUR.dim
    state.events += len(todo)
    state.interest = np.full(size, float(state.events), dtype=np.float32)
    return state, [Snapshot(float(state.events), state.interest)]


class SpacesContract:
    """Vectors in several named spaces, each with its own dimension, metric and index."""

    @pytest.fixture
    def spaced(self, store: Store) -> Store:
        store.upsert(
            [
                entry("a", axis(0), category="x"),
                entry("b", axis(1), category="y"),
                entry("c", axis(2), category="x"),
            ]
        )
        store.add_space(BEHAVIOUR)
        store.put_vectors("behaviour", {"a": _b(1, 0, 0), "b": _b(0, 2, 0)})
        return store

    def test_a_space_is_named_with_its_own_dim_and_metric(self, store: Store) -> None:
        assert store.spaces() == {"text": Space("text", DIM, "cosine")}
        store.add_space(BEHAVIOUR)
        store.add_space(BEHAVIOUR)  # the same again: nothing to do
        assert store.spaces() == {"text": INFO.text, "behaviour": BEHAVIOUR}
        for bad in (
            Space("behaviour", 4, "dot"),
            Space("text", 3),
            Space("Bad Name", 3),
            Space("zero", 0),
            Space("odd", 3, "manhattan"),  # type: ignore[arg-type]
        ):
            with pytest.raises(ConfigError):
                store.add_space(bad)
        assert set(store.spaces()) == {"text", "behaviour"}

    def test_any_valid_name_is_a_space_of_its_own(self, store: Store) -> None:
        # Names that end like the tables' and indexes' own names must not collide with them.
        names = ["item", "x", "x_item", "a_hnsw", "c_pkey", "items", "vectors"]
        for k, name in enumerate(names):
            store.add_space(Space(name, k + 1))
        assert list(store.spaces()) == ["text", *names]

    def test_a_store_written_by_another_opener_keeps_every_space(
        self, open_store: Opener, spaced: Store
    ) -> None:
        other = open_store()  # a second process (or server) on the same store
        try:
            other.add_space(Space("ant", 2))  # `spaced` has not looked since
            spaced.add_space(Space("bee", 2))  # ... so it must read the spaces again
            assert set(other.spaces()) == {"text", "behaviour", "ant", "bee"}
            other.put_vectors("ant", {"a": _b(1, 0)[:2], "b": _b(0, 1)[:2]})
            spaced.delete(["a"])  # deletes its vector in the space it did not know of
            spaced.upsert([entry("b", None, category="z")])
            got = other.search(_b(1, 0)[:2], n=5, space="ant", where={"category": "z"})
            assert [h.id for h in got] == ["b"]
            assert set(other.vectors(["a", "b"], space="ant")) == {"b"}
        finally:
            other.close()

    def test_spaces_are_searched_apart(self, spaced: Store) -> None:
        hits = spaced.search(_b(0, 1, 0), n=5, space="behaviour")
        assert [h.id for h in hits] == ["b", "a"]  # c has no vector there
        assert hits[0].score == pytest.approx(2.0)  # dot, not cosine
        assert [h.id for h in spaced.search(axis(2), n=1)] == ["c"]  # text is untouched
        assert set(spaced.vectors(["a", "c"], space="behaviour")) == {"a"}
        assert np.allclose(spaced.vector("b", space="behaviour"), _b(0, 2, 0))
        with pytest.raises(NotFound):
            spaced.vector("c", space="behaviour")
        got = spaced.fetch(["c", "a"], space="behaviour")
        assert list(got) == ["c", "a"] and got["c"].vector is None
        assert got["a"].vector is not None and np.allclose(got["a"].vector, _b(1, 0, 0))

    def test_nearest_in_a_space_fetches_that_space_s_vectors(self, spaced: Store) -> None:
        got = spaced.nearest(_b(0, 1, 0), n=5, space="behaviour", also=["c", "a"])
        assert got.hits == spaced.search(_b(0, 1, 0), n=5, space="behaviour")
        assert list(got.found) == ["b", "a", "c"] and got.found["c"].vector is None
        assert np.allclose(got.found["b"].vector, _b(0, 2, 0))  # type: ignore[arg-type]
        assert got.found["b"].title == "title b"

    def test_a_space_filters_on_the_items_current_metadata(self, spaced: Store) -> None:
        where = {"category": "x"}
        assert [h.id for h in spaced.search(_b(0, 1, 0), n=5, where=where, space="behaviour")] == [
            "a"
        ]
        spaced.upsert([entry("b", None, category="x")])  # metadata changes, vectors stay
        got = spaced.search(_b(0, 1, 0), n=5, where=where, space="behaviour", exclude=["a"])
        assert [h.id for h in got] == ["b"]
        assert np.allclose(spaced.vector("b", space="behaviour"), _b(0, 2, 0))
        spaced.put_vectors("behaviour", {"b": _b(0, 0, 1)})  # a new vector replaces the old
        assert [h.id for h in spaced.search(_b(0, 0, 1), n=1, space="behaviour")] == ["b"]
        spaced.delete(["b"])
        assert [h.id for h in spaced.search(_b(0, 0, 1), n=5, space="behaviour")] == ["a"]

    def test_bad_space_writes_change_nothing(self, spaced: Store) -> None:
        with pytest.raises(InvalidInput, match="unknown item"):
            spaced.put_vectors("behaviour", {"c": _b(1, 1, 1), "zz": _b(1, 1, 1)})
        with pytest.raises(InvalidInput, match="3-d"):
            spaced.put_vectors("behaviour", {"c": _b(1, 1)})
        with pytest.raises(InvalidInput, match="not finite"):
            spaced.put_vectors("behaviour", {"c": _b(1, np.nan, 1)})
        with pytest.raises(InvalidInput, match="space"):
            spaced.put_vectors("image", {"c": _b(1, 1, 1)})
        with pytest.raises(InvalidInput, match="space"):
            spaced.put_vectors("text", {"c": axis(0)})
        with pytest.raises(InvalidInput, match="space"):
            spaced.search(_b(1, 0, 0), n=1, space="image")
        with pytest.raises(InvalidInput, match="vector"):
            spaced.search(axis(0), n=1, space="behaviour")  # a text-sized query
        assert set(spaced.vectors(["a", "b", "c"], space="behaviour")) == {"a", "b"}

    def test_spaces_survive_a_reopen(self, open_store: Opener, spaced: Store) -> None:
        before = spaced.search(_b(1, 1, 0), n=5, where={"category": "x"}, space="behaviour")
        spaced.close()
        again = open_store()
        try:
            assert again.spaces()["behaviour"] == BEHAVIOUR
            got = again.search(_b(1, 1, 0), n=5, where={"category": "x"}, space="behaviour")
            assert got == before
        finally:
            again.close()

    def test_profiles_are_kept_per_user_and_space(self, spaced: Store) -> None:
        events = [Event(user_id="u", item_id=i, type="click") for i in ("a", "b")]
        spaced.record(events, [1.0, 1.0], _by_space, spaces=("text", "behaviour"))
        text, behaviour = spaced.profile("u"), spaced.profile("u", space="behaviour")
        assert text is not None and behaviour is not None
        assert (text.space, behaviour.space) == ("text", "behaviour")
        assert text.interest is not None and text.interest.shape == (DIM,)
        assert behaviour.interest is not None and behaviour.interest.shape == (3,)
        assert spaced.user("u", space="behaviour")[0] is not None
        assert len(spaced.snapshots("u", 10, space="behaviour")) == 1
        spaced.record(events[:1], [1.0], _by_space)  # text only
        assert spaced.snapshots("u", 10)[-1].at == 3.0
        assert [s.at for s in spaced.snapshots("u", 10, space="behaviour")] == [2.0]
        fresh = ProfileState("u", interest=_b(9, 9, 9), events=9, space="behaviour")
        spaced.put_profiles([(fresh, [])], replace=True)
        assert spaced.snapshots("u", 10, space="behaviour") == []
        assert len(spaced.snapshots("u", 10)) == 2  # the text history is not touched
        state = spaced.profile("u", space="behaviour")
        assert state is not None and state.events == 9
        spaced.forget_user("u")
        assert spaced.profile("u") is None and spaced.profile("u", space="behaviour") is None
