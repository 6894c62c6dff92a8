"""Item-item co-occurrence: cosine-normalised neighbours and recency-weighted user scores."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from likewise import Engine, Settings
from likewise.retrieval import ItemItem

HISTORIES = [["a", "b"], ["a", "b", "c"], ["a", "c"], ["d", "e"], ["b", "a"]]


def test_neighbours_are_cosine_normalised_co_occurrence() -> None:
    model = ItemItem.fit(HISTORIES, k=10)
    at = {item: i for i, item in enumerate(model.items)}
    row = dict(
        zip(
            [model.items[j] for j in model.neighbours[at["a"]] if j >= 0],
            model.weights[at["a"]].tolist(),
            strict=False,
        )
    )
    # a: 4 users, b: 3, c: 2; a&b together 3 times, a&c twice
    assert row["b"] == pytest.approx(3 / math.sqrt(4 * 3))
    assert row["c"] == pytest.approx(2 / math.sqrt(4 * 2))
    assert "d" not in row and "a" not in row  # never itself, never unrelated items
    assert list(row) == sorted(row, key=lambda k: -row[k])


def test_k_bounds_the_neighbours() -> None:
    model = ItemItem.fit(HISTORIES, k=1)
    assert model.neighbours.shape == (5, 1)


def test_user_scores_weight_recent_items_more_and_skip_the_history() -> None:
    model = ItemItem.fit([*HISTORIES, ["c", "e"]], k=10)
    recent_c = model.scores(["a", "c"], decay=0.5)
    recent_a = model.scores(["c", "a"], decay=0.5)
    assert "a" not in recent_c and "c" not in recent_c
    assert recent_c["e"] > recent_a["e"]  # e co-occurs with c, the newer item in recent_c
    assert model.scores(["zz"]) == {}
    assert "b" not in model.scores(["a"], exclude=["b"])


def test_bytes_round_trip_and_matrix() -> None:
    model = ItemItem.fit(HISTORIES, k=3)
    again = ItemItem.from_bytes(model.to_bytes())
    assert again.items == model.items
    assert np.array_equal(again.neighbours, model.neighbours)
    dense = model.matrix().toarray()
    at = {item: i for i, item in enumerate(model.items)}
    assert dense[at["a"], at["b"]] == pytest.approx(3 / math.sqrt(12))
    assert dense[at["a"], at["a"]] == 0


def test_observed_events_join_the_model_until_the_next_fit() -> None:
    model = ItemItem.fit(HISTORIES, k=10)
    assert "new" not in model.scores(["a"])
    model.observe(["a", "b"], "new")  # a user who liked a and b now likes a new item
    model.observe(["a"], "new")
    got = model.scores(["a"])
    # a: 4 users + 0 new, new: 2 users; together twice since the fit
    assert got["new"] == pytest.approx(2 / math.sqrt(4 * 2))
    assert model.scores(["new"])["a"] == pytest.approx(2 / math.sqrt(4 * 2))
    refit = ItemItem.fit([*HISTORIES, ["a", "b", "new"], ["a", "new"]], k=10)
    assert refit.scores(["a"])["new"] == pytest.approx(2 / math.sqrt(6 * 2))  # exact again
    assert ItemItem.from_bytes(model.to_bytes()).counts is not None


def test_the_hybrid_sees_a_new_item_before_the_next_train(tmp_path: Path) -> None:
    items = [{"id": f"i{k}", "title": f"item number {k}"} for k in range(6)]
    settings = Settings(hybrid_weights={"collaborative": 1.0})
    with Engine.open(str(tmp_path / "d"), model="hashing-64", settings=settings) as engine:
        engine.add_items(items)
        for user in ("u1", "u2", "u3"):
            engine.record(user, "i0", "like")
            engine.record(user, "i1", "like")
        engine.record("u4", "i0", "like")
        engine.record("u4", "i3", "like")  # a weaker neighbour of i0 than i1
        engine.train()
        engine.recommend("u1", n=3, strategy="hybrid")  # loads the model
        engine.add_items([{"id": "fresh", "title": "a brand new thing"}])
        engine.record("u2", "fresh", "like")
        engine.record("u3", "fresh", "like")
        scored = engine.personal.collaborative.scores(["i0"])  # type: ignore[union-attr]
        assert scored.get("fresh", 0.0) > 0
        engine.record("u9", "i0", "like")
        got = [r.id for r in engine.recommend("u9", n=3, strategy="hybrid").items]
        assert got == ["i1", "fresh", "i3"]  # fresh: 2 / sqrt(5 * 2) = 0.63, i3: 0.5


def test_a_candidate_scores_by_its_own_nearest_items() -> None:
    # a's nearest is c (3 shared users); b's only (so nearest) neighbour is a
    model = ItemItem.fit([["a", "c"]] * 3 + [["a", "b"]], k=1)
    got = model.scores(["a"])
    assert got["c"] == pytest.approx(3 / math.sqrt(4 * 3))
    assert got["b"] == pytest.approx(1 / math.sqrt(4 * 1))  # a is among b's k nearest


@settings(max_examples=150, deadline=None)
@given(
    histories=st.lists(
        st.lists(st.sampled_from([f"i{k}" for k in range(12)]), min_size=1, max_size=6),
        min_size=1,
        max_size=15,
    ),
    history=st.lists(st.sampled_from([f"i{k}" for k in range(14)]), max_size=5, unique=True),
    exclude=st.lists(st.sampled_from([f"i{k}" for k in range(14)]), max_size=4),
    observed=st.lists(st.sampled_from([f"i{k}" for k in range(14)]), max_size=3),
    n=st.integers(0, 15),
    k=st.integers(1, 4),
)
def test_top_is_the_best_n_of_the_scores_exactly(
    histories: list[list[str]],
    history: list[str],
    exclude: list[str],
    observed: list[str],
    n: int,
    k: int,
) -> None:
    model = ItemItem.fit(histories, k=k)
    for item in observed:  # folded in since the fit: the overlay path
        model.observe(histories[0], item)
    scored = model.scores(history, exclude=exclude)
    best = sorted(scored, key=lambda i: (-scored[i], i))[:n]
    got = model.top(history, n, exclude=exclude)
    assert list(got.items()) == [(i, scored[i]) for i in best]  # same floats, same order
