"""Lists for a group (issue 22, item 3), on both backends: each strategy on a hand-built
store whose winner is known, the members each item is for, seen items left out, the list
logged under `group:STRATEGY`, and bad input refused by field with nothing written."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from likewise import Conflict, Engine, InvalidInput, NotFound
from likewise.recommend.group import MAX_MEMBERS, member_scores, rank_group

# A three-dimensional space of tastes: u1 liked `a` (axis 0), u2 liked `b` (axis 1).
# `loved`: u1 loves it, u2 is lukewarm (cosines 0.96, 0.29: the best mean, 0.62);
# `compromise`: both like it alike (0.5, 0.5: the best minimum);
# `theirs`: u2 loves it, u1 dislikes it (-0.29, 0.96); `other`: nobody cares (0, 0).
TASTES = {
    "a": [1.0, 0.0, 0.0],
    "b": [0.0, 1.0, 0.0],
    "loved": [1.0, 0.3, 0.0],
    "compromise": [0.5, 0.5, 0.7071],
    "theirs": [-0.3, 1.0, 0.0],
    "other": [0.0, 0.0, 1.0],
}


def build(engine: Engine) -> Engine:
    """The hand-built store: the items above (genre `film`, `other` a `show`) with their
    vectors in the space `taste`, and u1, u2, u3 (who has only a dislike)."""
    engine.add_space("taste", 3)
    engine.add_items(
        {
            "id": item,
            "title": f"{item} title",
            "genre": "show" if item == "other" else "film",
            "vectors": {"taste": vector},
        }
        for item, vector in TASTES.items()
    )
    engine.record_many(
        [
            {"user_id": "u1", "item_id": "a", "type": "like"},
            {"user_id": "u2", "item_id": "b", "type": "like"},
            {"user_id": "u3", "item_id": "other", "type": "dislike"},
        ]
    )
    return engine


@pytest.fixture
def group_engine(location: str) -> Iterator[Engine]:
    with Engine.open(location, model="hashing-64") as engine:
        yield build(engine)


def ids(engine: Engine, strategy: str, n: int = 4, **options: object) -> list[str]:
    rec = engine.recommend_group(["u1", "u2"], n, strategy=strategy, space="taste", **options)  # type: ignore[arg-type]
    return [r.id for r in rec.items]


def test_each_strategy_picks_its_known_winner(group_engine: Engine) -> None:
    # Average: the item one member loves; least misery: the item nobody minds.
    assert ids(group_engine, "average") == ["loved", "compromise", "theirs", "other"]
    assert ids(group_engine, "least_misery") == ["compromise", "loved", "other", "theirs"]
    # Fair: u1's turn first (a tie goes to the member named first), then u2, least served.
    assert ids(group_engine, "fair", n=2) == ["loved", "theirs"]
    # Average leaves u2's favourite out of its first two; fair covers both members there.
    assert "theirs" not in ids(group_engine, "average", n=2)


def test_items_name_the_members_they_are_for(group_engine: Engine) -> None:
    rec = group_engine.recommend_group(["u1", "u2"], 4, strategy="average", space="taste")
    assert rec.strategy == "group:average" and rec.users == ("u1", "u2")
    members = {r.id: r.members for r in rec.items}
    assert members == {
        "loved": ("u1",),
        "compromise": ("u1", "u2"),
        "theirs": ("u2",),
        "other": ("u1", "u2"),
    }
    assert rec.items[0].reason == "for u1"
    assert rec.items[0].score == pytest.approx((0.958 + 0.287) / 2, abs=1e-3)
    body = rec.as_dict()
    assert body["users"] == ["u1", "u2"]
    assert [item["for"] for item in body["items"]][:2] == [["u1"], ["u1", "u2"]]


def test_seen_items_and_the_filter_leave_items_out(group_engine: Engine) -> None:
    assert not {"a", "b"} & set(ids(group_engine, "average", n=10))
    assert ids(group_engine, "least_misery", where={"genre": "film"}) == [
        "compromise",
        "loved",
        "theirs",
    ]


def test_the_list_is_logged_and_clicks_count(group_engine: Engine) -> None:
    rec = group_engine.recommend_group(["u2", "u1"], 2, strategy="fair", space="taste")
    group_engine.record("u1", rec.items[0].id, "click", recommendation_id=rec.id)
    rows = {r.group: r for r in group_engine.ctr_report()}
    assert (rows["group:fair"].impressions, rows["group:fair"].clicks) == (1, 1)
    # Not logged when asked not to: still one impression.
    group_engine.recommend_group(["u1", "u2"], 2, space="taste", track=False)
    assert {r.group: r.impressions for r in group_engine.ctr_report()}["group:fair"] == 1
    assert "group:average" not in {r.group for r in group_engine.ctr_report()}


def test_text_space_lists_come_from_the_profiles(group_engine: Engine) -> None:
    rec = group_engine.recommend_group(["u1", "u2"], 3, strategy="least_misery")
    assert len(rec.items) == 3 and not {"a", "b"} & {r.id for r in rec.items}
    assert all(r.members and set(r.members) <= {"u1", "u2"} for r in rec.items)


BAD = [
    (["u1"], {}, InvalidInput, "users"),  # one member
    ("u1", {}, InvalidInput, "users"),  # a string, not a list
    ([f"x{k}" for k in range(MAX_MEMBERS + 1)], {}, InvalidInput, "users"),  # a crowd
    (["u1", "u1"], {}, InvalidInput, "users[1]"),  # named twice
    (["u1", ""], {}, InvalidInput, "users[1]"),  # a blank id
    (["u1", "ghost"], {}, NotFound, "users[1]"),  # no events at all
    (["u3", "u1"], {}, Conflict, "users[0]"),  # only a dislike: no interest vector
    (["u1", "u2"], {"strategy": "median"}, InvalidInput, "strategy"),
    (["u1", "u2"], {"n": 0}, InvalidInput, "n"),
    (["u1", "u2"], {"space": "nope"}, InvalidInput, "space"),
    (["u1", "u2"], {"where": {"$bad": 1}}, InvalidInput, "where.$bad"),
]


def test_bad_input_is_named_and_logs_nothing(group_engine: Engine) -> None:
    for users, options, error, field in BAD:
        with pytest.raises(error) as raised:
            group_engine.recommend_group(users, **options)  # type: ignore[arg-type]
        assert type(raised.value) is error, (users, options)
        assert getattr(raised.value, "field", None) == field, (users, options)
    assert group_engine.ctr_report() == []


def test_pure_scoring_ties_and_median() -> None:
    scores = member_scores(np.eye(3), np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]))
    assert scores.shape == (3, 2)
    picks = rank_group(scores, 2, "average")
    assert [p.index for p in picks] == [0, 1]
    assert picks[0].members == (0, 1, 2)  # all equal: all tied at the top
    assert picks[1].members == (0,)  # (1, 0, 0): the one above the median, 0
    assert rank_group(np.array([[0.9], [0.9], [0.1]]), 1, "average")[0].members == (0, 1)
    # Fair with three members and three items each loves alone: one each, in member order.
    fair = rank_group(np.eye(3)[::-1].copy(), 3, "fair")
    assert [p.index for p in fair] == [2, 1, 0]


def test_in_the_behaviour_space_scores_are_the_members_own(group_engine: Engine) -> None:
    """After `train`, a group's `average` score for an item is the mean of the scores each
    member's own list gives it there (the inner products of the learned space)."""
    likes = ["loved", "compromise", "theirs", "a", "b"]
    group_engine.record_many(
        {"user_id": f"v{k}", "item_id": item, "type": "like"}
        for k in range(6)
        for item in likes[k % 3 : k % 3 + 3]
    )
    group_engine.train()
    members = ["v0", "v1"]
    own = {
        m: {r.id: r.score for r in group_engine.recommend(m, n=10, space="behaviour").items}
        for m in members
    }
    rec = group_engine.recommend_group(members, 3, space="behaviour", track=False)
    assert rec.items
    for r in rec.items:
        assert r.score == pytest.approx(sum(own[m][r.id] for m in members) / 2, abs=1e-5)
