"""Replay equivalence: the profiles `record` keeps online are the ones a replay of the log
makes, bit for bit, in every space, on both backends.

`record_many` folds a batch per user and runs the math over all users at once
(`apply_many`); `rebuild_profiles` replays the log one event at a time (`apply`). Any
difference between the two ways (an event left out of one, a step in another order, a
vector rounded otherwise) shows here as unequal bytes, not as a tolerance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from likewise import Engine, Settings

ITEMS = [
    {"id": "space1", "title": "Rocket reaches the moon"},
    {"id": "space2", "title": "Moon rocket launch delayed"},
    {"id": "space3", "title": "Astronauts train for Mars"},
    {"id": "food1", "title": "Pasta with tomato sauce"},
    {"id": "food2", "title": "Tomato pasta bake"},
    {"id": "blank", "title": "!!!"},  # the hashing model finds no word: a zero vector
]
KINDS: list[tuple[str, float | None]] = [
    ("view", None),
    ("click", None),
    ("like", None),
    ("dislike", None),
    ("skip", None),
    ("purchase", None),
    ("rating", 5.0),
    ("rating", 1.0),
    ("dwell", 40.0),
]


def _batch(start: int, items: list[str], size: int) -> list[dict[str, Any]]:
    """`size` events, every other one by `heavy` (many events of one user interleaved with
    others'), every kind of signal, each item in turn."""
    out: list[dict[str, Any]] = []
    for k in range(size):
        kind, value = KINDS[(k * 7 + start) % len(KINDS)]
        event: dict[str, Any] = {
            "user_id": "heavy" if k % 2 == 0 else f"u{k % 5}",
            "item_id": items[(k * 3 + start) % len(items)],
            "type": kind,
            "timestamp": 1_000_000 + start + k,
        }
        if value is not None:
            event["value"] = value
        out.append(event)
    return out


def _state(engine: Engine, user: str, space: str) -> tuple[Any, ...]:
    """Everything kept of a user in a space, vectors as bytes (equal only if bit-identical)."""
    state = engine.store.profile(user, space=space)
    assert state is not None, (user, space)
    vectors = tuple(
        None if v is None else (v.dtype.str, v.tobytes())
        for v in (state.interest, state.ema, state.seed)
    )
    scalars = (
        state.recent,
        state.events,
        state.positives,
        state.negatives,
        state.since_snapshot,
        state.last_snapshot_at,
        state.updated_at,
    )
    snaps = [(s.at, s.vector.tobytes()) for s in engine.store.snapshots(user, 1000, space=space)]
    return vectors, scalars, snaps


def test_a_replay_of_the_log_gives_the_online_profiles_bit_for_bit(location: str) -> None:
    settings = Settings(snapshot_every=3, cache_size=0)
    users = ["heavy", "fresh", *(f"u{k}" for k in range(5))]
    with Engine.open(location, model="hashing-64", settings=settings) as engine:
        engine.add_items(ITEMS)
        engine.onboard("fresh", text="rocket moon")  # a profile that starts from a seed
        ids = [i["id"] for i in ITEMS]
        engine.record_many(_batch(0, ids, 60))
        # Items unknown to the text space when the batch is checked: created by it, with a
        # vector the replay will find.
        made = _batch(1, [*ids, "new1", "new2"], 40)
        made.append({"user_id": "fresh", "item_id": "new1", "type": "like", "timestamp": 2e6})
        assert engine.record_many(made, unknown_items="create").created == 2
        for event in _batch(2, ids, 9):  # one at a time
            engine.record(**event)
        engine.train()  # the behaviour space, and a profile in it for each user
        # After `train`: an item created now has a text vector and no behaviour vector.
        later = _batch(3, [*ids, "new3"], 50)
        engine.record_many(later, unknown_items="create")
        engine.record_many(_batch(4, ids, 30))
        spaces = ("text", "behaviour")
        online = {(u, s): _state(engine, u, s) for u in users for s in spaces}
        assert engine.rebuild_profiles() == len(users)
        replayed = {(u, s): _state(engine, u, s) for u in users for s in spaces}
    for key, want in online.items():
        assert replayed[key] == want, key
    heavy = online["heavy", "text"]
    assert heavy[1][1] > 60 and heavy[1][3] > 5  # many events and dislikes were replayed
    assert len(heavy[2]) > 10  # snapshots were taken on the way
    assert "new1" in online["fresh", "text"][1][0]  # the created item moved a profile
    assert online["heavy", "behaviour"][1][1] < heavy[1][1]  # `new3` has no behaviour vector
    assert np.frombuffer(online["fresh", "text"][0][2][1], np.float32).any()  # the seed stays
