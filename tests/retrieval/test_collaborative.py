"""Item-item co-occurrence: cosine-normalised neighbours and recency-weighted user scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

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
