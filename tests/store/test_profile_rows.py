"""Profile rows as the shared SQL writes and reads them: the scalars' JSON text, whichever
encoder wrote it (orjson now, `json` before), reads back as the same profile."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from likewise.events.model import Event
from likewise.profiles import ProfileState, Snapshot
from likewise.store import EmbeddedStore, Space
from likewise.store.base import ProfileUpdates
from likewise.testing.contract import INFO, axis, entry


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    opened = EmbeddedStore(tmp_path / "data")
    opened.initialize(INFO)
    opened.upsert([entry("a", axis(0))])
    return opened


def _state(**scalars: object) -> ProfileState:
    return ProfileState(
        "u1",
        interest=axis(1),
        ema=axis(2),
        recent=["a", "é-ü", "日本"],
        events=3,
        positives=2,
        negatives=1,
        since_snapshot=3,
        last_snapshot_at=None,
        updated_at=1_700_000_000.25,
        **scalars,  # type: ignore[arg-type]
    )


def test_a_profile_reads_back_as_it_was_written(store: EmbeddedStore) -> None:
    store.put_profiles([(_state(), [])], replace=False)
    got = store.profile("u1")
    assert got is not None
    assert got.recent == ["a", "é-ü", "日本"]
    assert (got.events, got.positives, got.negatives, got.since_snapshot) == (3, 2, 1, 3)
    assert got.last_snapshot_at is None and got.updated_at == 1_700_000_000.25
    assert np.array_equal(got.interest, axis(1)) and np.array_equal(got.ema, axis(2))  # type: ignore[arg-type]
    store.close()


def test_a_numpy_scalar_is_written_as_its_number(store: EmbeddedStore) -> None:
    state = _state()
    state.updated_at = np.float64(12.5)  # type: ignore[assignment]
    store.put_profiles([(state, [])], replace=False)
    got = store.profile("u1")
    assert got is not None and got.updated_at == 12.5 and type(got.updated_at) is float
    store.close()


@pytest.mark.parametrize(
    "updated_at",
    [pytest.param(1.5, id="number"), pytest.param(float("nan"), id="nan")],
)
def test_rows_written_by_json_dumps_read_the_same(
    store: EmbeddedStore, tmp_path: Path, updated_at: float
) -> None:
    scalars = {
        "recent": ["a", "é"],
        "events": 2,
        "positives": 2,
        "negatives": 0,
        "since_snapshot": 2,
        "last_snapshot_at": None,
        "updated_at": updated_at,
    }
    with sqlite3.connect(tmp_path / "data" / "likewise.db") as db:  # as likewise 0.2 wrote it
        db.execute(
            "INSERT INTO profiles(user_id, space, state) VALUES ('u2', 'text', ?)",
            (json.dumps(scalars),),
        )
    got = store.profile("u2")
    assert got is not None and got.recent == ["a", "é"] and got.events == 2
    assert got.updated_at == updated_at or (np.isnan(updated_at) and np.isnan(got.updated_at))  # type: ignore[arg-type]
    store.close()


def test_a_batched_update_gets_every_user_of_a_space_in_one_call(store: EmbeddedStore) -> None:
    store.add_space(Space("behaviour", 4))
    calls: list[tuple[str, list[tuple[str, int]]]] = []

    def many(
        batch: Sequence[tuple[ProfileState, Sequence[tuple[Event, float]]]],
    ) -> list[tuple[ProfileState, list[Snapshot]]]:
        calls.append((batch[0][0].space, [(s.user_id, len(todo)) for s, todo in batch]))
        for state, todo in batch:
            state.events += len(todo)
        return [(state, []) for state, _ in batch]

    events = [
        Event.model_validate({"user_id": u, "item_id": "a", "type": "click"})
        for u in ("u1", "u2", "u1")
    ]
    store.record(events, [1.0, 1.0, 1.0], ProfileUpdates(many), spaces=("text", "behaviour"))
    assert calls == [("text", [("u1", 2), ("u2", 1)]), ("behaviour", [("u1", 2), ("u2", 1)])]
    got = store.profile("u1", space="behaviour")
    assert got is not None and got.events == 2

    def broken(
        batch: Sequence[tuple[ProfileState, Sequence[tuple[Event, float]]]],
    ) -> list[tuple[ProfileState, list[Snapshot]]]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.record(events[:1], [1.0], ProfileUpdates(broken))
    assert store.stats()["events"] == 3  # the same transaction: nothing of it was kept
    store.close()
