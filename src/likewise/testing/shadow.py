"""The shadow half of the store contract (mixed into `StoreContract`): a reembed's vectors
written beside the current ones, kept in step with item writes, and swapped in at once."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from likewise.errors import Conflict, InvalidInput
from likewise.profiles.state import ProfileState, Snapshot
from likewise.store.base import Space, Store
from likewise.store.shadow import Shadow, ShadowRow
from likewise.testing.values import DIM, INFO, Opener, axis, entry, unit

__all__ = ["ShadowContract"]

NEW = Shadow("new-model", 3)
QUERY = unit([4.0, 3.0, 2.0, 1.0] + [0.0] * (DIM - 4))  # every item scored apart: no ties to order


def _v(k: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    return axis(k, dim=NEW.dim)


def _row(item_id: str, k: int, title: str = "") -> ShadowRow:
    return ShadowRow(item_id, f"hash-{item_id}-{title}", _v(k))


class ShadowContract:
    """A shadow of the text space: filled in batches, invisible to reads, swapped in whole."""

    @pytest.fixture
    def shadowed(self, store: Store) -> Store:
        store.upsert([entry(f"i{k}", axis(k), category="ab"[k % 2]) for k in range(4)])
        store.begin_shadow(NEW)
        return store

    def test_reads_see_the_old_vectors_until_the_swap(self, shadowed: Store) -> None:
        before = shadowed.search(QUERY, n=4)
        assert shadowed.shadow() == NEW
        assert shadowed.shadow_missing() == ["i0", "i1", "i2", "i3"]
        assert shadowed.put_shadow([_row("i0", 0), _row("i1", 1)]) == 2
        assert shadowed.shadow_missing() == ["i2", "i3"]
        assert shadowed.info == INFO
        assert shadowed.spaces() == {"text": INFO.text}
        assert shadowed.search(QUERY, n=4) == before
        with pytest.raises(Conflict, match="2 items have no vector"):
            shadowed.swap_shadow()
        assert shadowed.info == INFO and shadowed.search(QUERY, n=4) == before
        shadowed.put_shadow([_row("i2", 2), _row("i3", 3)])
        shadowed.swap_shadow()
        assert shadowed.info is not None
        assert (shadowed.info.model_id, shadowed.info.dim) == (NEW.model_id, NEW.dim)
        assert shadowed.spaces() == {"text": Space("text", NEW.dim, INFO.metric)}
        assert shadowed.shadow() is None
        assert [h.id for h in shadowed.search(_v(1), n=2, where={"category": "b"})] == ["i1", "i3"]
        assert [h.id for h in shadowed.search(_v(2), n=1)] == ["i2"]
        assert np.allclose(shadowed.vector("i1"), _v(1))
        assert shadowed.count() == 4
        tilted = axis(2, tilt=0.5, dim=NEW.dim)
        shadowed.upsert([entry("i9", tilted)])  # writes take the new model's vectors
        assert [h.id for h in shadowed.search(tilted, n=2)] == ["i9", "i2"]

    def test_item_writes_keep_the_shadow_in_step(self, shadowed: Store) -> None:
        shadowed.put_shadow([_row(f"i{k}", k) for k in range(4)])
        shadowed.upsert([entry("i0", None, category="c")])  # metadata only: kept
        shadowed.upsert([entry("i1", axis(5), category="b")])  # new text: dropped
        shadowed.upsert([entry("i4", axis(4))])  # new: none yet
        shadowed.delete(["i2"])
        assert shadowed.shadow_missing() == ["i1", "i4"]
        # A row embedded from text that has changed since, or of an item now gone, is left out.
        stale = ShadowRow("i4", "hash-of-other-text", _v(0))
        assert shadowed.put_shadow([stale, _row("i2", 2), _row("i1", 1), _row("i4", 4)]) == 2
        shadowed.swap_shadow()
        assert [h.id for h in shadowed.search(_v(0), n=1, where={"category": "c"})] == ["i0"]
        assert sorted(shadowed.all_ids()) == ["i0", "i1", "i3", "i4"]
        assert np.allclose(shadowed.vector("i4"), _v(4))

    def test_the_swap_drops_the_old_models_profiles_alone(self, shadowed: Store) -> None:
        other = Space("other", 2, "dot")
        shadowed.add_space(other)
        two = np.asarray([1.0, 0.0], dtype=np.float32)
        shadowed.put_profiles(
            [
                (ProfileState.seeded("u1", axis(0)), [Snapshot(1.0, axis(0))]),
                (ProfileState.seeded("u1", two, space="other"), [Snapshot(1.0, two)]),
            ],
            replace=False,
        )
        shadowed.put_shadow([_row(f"i{k}", k) for k in range(4)])
        assert shadowed.profile("u1") is not None  # kept until the swap
        shadowed.swap_shadow()
        assert shadowed.profile("u1") is None and shadowed.snapshots("u1", 5) == []
        kept = shadowed.profile("u1", space="other")
        assert kept is not None and kept.interest is not None
        assert np.allclose(kept.interest, two)
        assert len(shadowed.snapshots("u1", 5, space="other")) == 1

    def test_one_model_at_a_time(self, shadowed: Store) -> None:
        shadowed.put_shadow([_row("i0", 0)])
        shadowed.begin_shadow(NEW)  # the same model again: it continues
        assert shadowed.shadow_missing() == ["i1", "i2", "i3"]
        with pytest.raises(Conflict, match="new-model is unfinished"):
            shadowed.begin_shadow(Shadow("third", 5))
        shadowed.drop_shadow()
        assert shadowed.shadow() is None
        assert shadowed.shadow_missing() == ["i0", "i1", "i2", "i3"]
        with pytest.raises(Conflict, match="no reembed"):
            shadowed.put_shadow([_row("i0", 0)])
        shadowed.begin_shadow(Shadow("third", 5))
        assert shadowed.shadow_missing() == ["i0", "i1", "i2", "i3"]
        assert shadowed.info == INFO

    def test_a_bad_vector_writes_nothing(self, shadowed: Store) -> None:
        bad = ShadowRow("i1", "hash-i1-", np.ones(DIM, dtype=np.float32))
        with pytest.raises(InvalidInput, match="vector") as caught:
            shadowed.put_shadow([_row("i0", 0), bad])
        assert caught.value.field == "vector"
        nan = ShadowRow("i1", "hash-i1-", np.full(NEW.dim, np.nan, dtype=np.float32))
        with pytest.raises(InvalidInput, match="not finite"):
            shadowed.put_shadow([_row("i0", 0), nan])
        assert shadowed.shadow_missing() == ["i0", "i1", "i2", "i3"]

    def test_the_shadow_outlives_the_process_and_the_swap_reaches_others(
        self, shadowed: Store, open_store: Opener
    ) -> None:
        shadowed.put_shadow([_row("i0", 0), _row("i1", 1)])
        other = open_store()
        try:
            assert other.shadow() == NEW
            assert other.shadow_missing() == ["i2", "i3"]
            before = other.search(QUERY, n=2)
            other.put_shadow([_row("i2", 2), _row("i3", 3)])
            shadowed.swap_shadow()
            assert shadowed.search(_v(2), n=1)[0].id == "i2"
            # A process that held the old model finds the new one at its next query.
            assert other.search(_v(2), n=1)[0].id == "i2"
            assert other.info is not None and other.info.dim == NEW.dim
            assert other.search(_v(2), n=2) != before
        finally:
            other.close()
