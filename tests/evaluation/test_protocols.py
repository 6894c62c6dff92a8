"""RecBole's random protocol: core filtering, the 8:1:1 split and multi-target NDCG."""

from __future__ import annotations

import math

import pytest

from likewise.evaluation.protocols import core_filter, ndcg_at, random_split, sequential_split


def test_core_filter_repeats_until_every_user_and_item_has_enough() -> None:
    ratings = [
        {"user_id": u, "item_id": i, "value": 4.0} for u in ("a", "b", "c") for i in ("x", "y", "z")
    ]
    ratings += [{"user_id": "a", "item_id": "w", "value": 5.0}]  # w: one user only
    ratings += [{"user_id": "d", "item_id": "x", "value": 2.0}]  # below the rating floor
    kept = core_filter(ratings, core=3)
    assert sorted({i for _, i in kept}) == ["x", "y", "z"] and len(kept) == 9
    # dropping an item can push a user under the core: the filter runs again
    chain = [{"user_id": "a", "item_id": i, "value": 3} for i in "pq"]
    chain += [{"user_id": u, "item_id": "p", "value": 3} for u in "bc"]
    assert core_filter(chain, core=3) == []


def test_split_is_8_1_1_per_user_and_seeded() -> None:
    pairs = [("u", f"i{k}") for k in range(25)] + [("v", f"i{k}") for k in range(10)]
    split = random_split(pairs)
    assert (len(split.train["u"]), len(split.valid["u"]), len(split.test["u"])) == (21, 2, 2)
    assert (len(split.train["v"]), len(split.valid["v"]), len(split.test["v"])) == (8, 1, 1)
    assert set(split.train["u"] + split.valid["u"] + split.test["u"]) == {
        f"i{k}" for k in range(25)
    }
    assert random_split(pairs) == split
    assert random_split(pairs, seed=1) != split


def test_ndcg_counts_every_relevant_item() -> None:
    assert ndcg_at(["a", "b", "c"], {"a", "b"}, 3) == pytest.approx(1.0)
    assert ndcg_at(["x", "a"], {"a"}, 2) == pytest.approx(1 / math.log2(3))
    ideal = 1 + 1 / math.log2(3)
    assert ndcg_at(["x", "a", "b"], {"a", "b"}, 3) == pytest.approx(
        (1 / math.log2(3) + 1 / math.log2(4)) / ideal
    )
    assert ndcg_at(["x"], set(), 1) == 0.0


def test_sequential_split_holds_out_each_users_last_interaction() -> None:
    rows = [
        {"user_id": "u", "item_id": "a", "value": 5, "timestamp": 3.0},
        {"user_id": "u", "item_id": "b", "value": 3, "timestamp": 1.0},
        {"user_id": "u", "item_id": "c", "value": 4, "timestamp": 2.0},
        {"user_id": "v", "item_id": "a", "value": 4, "timestamp": 5.0},
    ]
    history, targets = sequential_split(rows)
    assert targets == {"u": "a", "v": "a"}
    assert [(e["user_id"], e["item_id"]) for e in history] == [("u", "b"), ("u", "c")]
    assert {e["type"] for e in history} == {"like"}
