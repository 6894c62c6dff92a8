"""Engine.recommend_from, user_events and list_items on both backends."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from likewise import Engine
from likewise.errors import InvalidInput

CATALOG = [
    {"id": f"i{k}", "title": f"{topic} story {k}", "category": topic}
    for k, topic in enumerate(["space", "space", "food", "food", "space"])
]


@pytest.fixture
def engine(location: str) -> Engine:
    eng = Engine.open(location, model="hashing-64")
    eng.add_items(CATALOG)
    return eng


def test_vectors_given_are_checked_and_ids_left_out(engine: Engine) -> None:
    with engine:
        for bad in ([math.inf] * 64, [math.nan] * 64, [0.0] * 64, [1.0] * 3, [True] * 64):
            with pytest.raises(InvalidInput) as caught:
                engine.recommend_from(["i0", bad])
            assert caught.value.field == "positive[1]"
        rec = engine.recommend_from(["i0"], ["i2"], n=10, strategy="best_score")
        assert {"i0", "i2"}.isdisjoint(r.id for r in rec.items) and len(rec.items) == 3
        array = engine.vectors(["i1"])["i1"]  # numpy, as Engine.vectors gives it
        assert engine.recommend_from([array], n=1).items[0].id == "i1"
        rec = engine.recommend_from(["i0"], n=2, min_score=2.0)
        assert rec.items == []


def test_pages_of_items_and_events(engine: Engine) -> None:
    with engine:
        page = engine.list_items(limit=2, where={"category": "space"})
        assert [i.id for i in page.items] == ["i0", "i1"]
        last = engine.list_items(limit=2, where={"category": "space"}, cursor=page.next_cursor)
        assert [i.id for i in last.items] == ["i4"] and last.next_cursor is None
        engine.record_many([{"user_id": "u", "item_id": f"i{k}", "type": "view"} for k in range(3)])
        events = engine.user_events("u", limit=2)
        assert [e.item_id for e in events.events] == ["i2", "i1"]
        older = engine.user_events("u", limit=2, cursor=events.next_cursor)
        assert [e.item_id for e in older.events] == ["i0"]
        with pytest.raises(InvalidInput) as caught:
            engine.user_events("u", cursor="abc")
        assert caught.value.field == "cursor"
        assert engine.delete_user_events("u")["events"] == 3
        assert engine.user_events("u").events == []


def test_pages_with_exploration_skip_no_ranked_item(tmp_path: Path) -> None:
    from likewise import Settings

    words = [" ".join(f"w{(k * 7 + j * 3) % 31}" for j in range(3)) for k in range(40)]
    items = [{"id": f"i{k:02d}", "title": f"space {words[k]}"} for k in range(40)]
    with Engine.open(
        str(tmp_path / "d"), model="hashing-64", settings=Settings(exploration=0.4)
    ) as engine:
        engine.add_items(items)
        engine.record("u", "i00", "like")
        for k in range(20, 40):  # popular items for the exploration slots
            engine.record(f"p{k}", f"i{k}", "like")
        first = engine.recommend("u", n=5, strategy="mean", track=False)
        second = engine.recommend("u", n=5, offset=5, strategy="mean", track=False)
        ranked = [r.id for r in first.items if r.reason != "explore"]
        ranked += [r.id for r in second.items]
        assert len(ranked) == 8 and len(set(ranked)) == 8  # 3 + 5: none repeated
        assert "explore" in {r.reason for r in first.items}
        assert [i["position"] for i in second.as_dict()["items"]] == [6, 7, 8, 9, 10]


def test_best_score_sinks_whatever_the_signs_of_the_cosines() -> None:
    import numpy as np

    from likewise.recommend.session import Examples, best_scores

    pos, neg = np.array([1.0, 0.0], "f4"), np.array([0.0, 1.0], "f4")
    near_neg = np.array([-0.2, -0.1], "f4")  # both cosines negative, the negative's nearer
    clean = np.array([-0.3, -0.9], "f4")  # nearer the positive, though far from both
    scores = best_scores({"n": near_neg, "c": clean}, Examples([pos], [neg], [], []))
    assert scores["c"] > 0 > scores["n"]


def test_odd_cursors_and_spaces_are_named(engine: Engine) -> None:
    with engine:
        for cursor in ("²", "9" * 25):
            with pytest.raises(InvalidInput) as caught:
                engine.user_events("u", cursor=cursor)
            assert caught.value.field == "cursor"
        with pytest.raises(InvalidInput) as caught:
            engine.list_items(cursor="a\x00b")
        assert caught.value.field == "cursor"
        with pytest.raises(InvalidInput) as caught:
            engine.similar("i0", space="collaborative")
        assert caught.value.field == "space"
        engine.create_experiment("home", ["a:strategy=ema", "b:strategy=hybrid"])
        engine.record("u", "i0", "like")
        # naming a space picks a profile strategy: the experiment does not decide
        assert engine.recommend("u", space="text", n=2).variant is not None
        from likewise.errors import Conflict

        with pytest.raises(Conflict):  # no behaviour model yet, whatever the bucket
            engine.recommend("u", space="behaviour", n=2)
