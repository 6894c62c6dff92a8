"""The closed-form models: EASE, the next-item ridge and its rank reduction, the weight search."""

from __future__ import annotations

import numpy as np
import pytest

from likewise.recommend.tuning import fit_weights
from likewise.retrieval.linear import Ease, NextItem, active_items
from likewise.retrieval.models import Models, behaviour_query, behaviour_vectors, fit_projection

# Two tastes: people who like a also like b, people who like c also like d; x is everywhere.
PAIRS = [["a", "b", "x"]] * 6 + [["c", "d", "x"]] * 6 + [["a", "x"], ["c", "x"]]
# One order: s1 -> s2 -> s3 -> s4, and t1 -> t2 -> t3.
CHAINS = [["s1", "s2", "s3", "s4"]] * 8 + [["t1", "t2", "t3"]] * 8 + [["s1", "t2"]]


def test_ease_recommends_what_the_same_taste_likes() -> None:
    model = Ease.fit(PAIRS, lam=1.0)
    assert list(model.top(["a", "x"], 1)) == ["b"]
    assert list(model.top(["c", "x"], 1)) == ["d"]
    assert np.allclose(np.diag(model.matrix), 0.0)  # never explains an item by itself
    assert "a" not in model.top(["a"], 5) and model.top([], 5) == {}
    assert model.top(["unknown"], 3) == {}  # an item trained after: nothing, no error


def test_the_next_item_model_follows_the_order() -> None:
    model = NextItem.fit(CHAINS, lam=0.1, decay=0.5, window=3)
    assert list(model.top(["s1"], 1)) == ["s2"]
    assert list(model.top(["s1", "s2"], 1)) == ["s3"]
    assert list(model.top(["t1", "t2"], 1)) == ["t3"]
    # reduced to a few dimensions, the inner product of input and output vectors agrees
    inputs, outputs = model.reduced(CHAINS, 4)
    position = model.position
    taste = inputs[position["s2"]]
    assert model.items[int(np.argmax(outputs @ taste))] == "s3"


def test_dense_models_round_trip_and_are_bounded() -> None:
    model = Ease.fit(PAIRS, lam=5.0)
    again = Ease.from_bytes(model.to_bytes())
    assert again.items == model.items and np.array_equal(again.matrix, model.matrix)
    assert again.lam == 5.0
    small = NextItem.fit(CHAINS, limit=3)
    assert len(small.items) == 3 and set(small.items) <= {i for c in CHAINS for i in c}
    assert active_items([["a", "b"], ["b"]], 1) == ["b"]


def test_dense_matrices_are_row_major_when_fit_and_loaded() -> None:
    """Scoring gathers rows: a column-major matrix (what a Cholesky solve and `np.save` of
    it give) made the next-item model 20 times slower to score."""
    for model in (Ease.fit(PAIRS), NextItem.fit(CHAINS)):
        again = type(model).from_bytes(model.to_bytes())
        for matrix in (model.matrix, again.matrix):
            assert matrix.flags["C_CONTIGUOUS"] and matrix.dtype == np.float32


def test_the_behaviour_layout_scores_outputs_against_the_input_half() -> None:
    inputs = np.array([[3.0, 0.0], [0.0, 2.0]], np.float32)
    outputs = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
    stored = behaviour_vectors(inputs, outputs)
    assert np.allclose(stored[:, :2], [[1, 0], [0, 1]])  # unit input halves
    query = behaviour_query(stored[0])
    assert np.allclose(query, [0, 0, 1, 0])
    # item 0's input prefers item 1's output (scaled to a mean length of 1.5)
    assert np.allclose(stored @ query, [0.0, 1.5])
    text = np.eye(2, dtype=np.float32)
    projection = fit_projection(text, stored, lam=1e-6)
    assert np.allclose(text @ projection, stored, atol=1e-4)


def test_models_load_from_their_blobs_and_a_missing_part_stays_missing() -> None:
    models = Models(ease=Ease.fit(PAIRS), weights={"ease": 1.0}, info={"version": "v1"})
    blobs: dict[str, bytes | None] = dict(models.to_blobs())
    assert list(blobs)[-1] == "model.meta"  # the version is written last
    again = Models.from_blobs(blobs)
    assert again is not None and again.version == "v1" and again.weights == {"ease": 1.0}
    assert again.ease is not None and again.next_item is None and again.itemknn is None
    assert Models.from_blobs({}) is None


def test_weights_are_never_below_the_best_single_source() -> None:
    # Source p finds targets at rank 1 for half the users, q for the other half.
    offers, targets = [], []
    for user in range(20):
        target = f"t{user}"
        strong = {target: 1.0, "o1": 0.5, "o2": 0.0}
        weak = {"o1": 1.0, "o2": 0.9, target: 0.0}
        offers.append({"p": strong, "q": weak} if user % 2 else {"p": weak, "q": strong})
        targets.append(target)
    tuned = fit_weights(offers, targets, ["p", "q"], n=1)
    assert tuned.ndcg >= max(tuned.alone.values())
    assert tuned.alone["p"] == pytest.approx(0.5)
    # One source always right: it is chosen and the useless one weighs nothing.
    tuned = fit_weights(
        [{"p": {t: 1.0, "z": 0.0}, "q": {"z": 1.0, t: 0.0}} for t in targets],
        targets,
        ["p", "q"],
        n=1,
    )
    assert tuned.weights["p"] > 0 and tuned.weights["q"] < tuned.weights["p"]
    assert tuned.ndcg == pytest.approx(1.0)
