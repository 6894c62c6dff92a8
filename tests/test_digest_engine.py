"""`Engine.digest` on a small store of each kind: the lists equal the per-user `recommend`,
`where` holds, earlier digests' items are left out, the lists count in the CTR report, bad
input starts nothing, and a forget takes the user's digest state with it."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from likewise import Engine
from likewise.engine import MAX_N
from likewise.errors import InvalidInput, NotFound
from likewise.recommend import Recommendation

WORDS = [
    "moon",
    "rocket",
    "orbit",
    "garden",
    "tomato",
    "soil",
    "violin",
    "piano",
    "opera",
    "chess",
    "rook",
    "pawn",
]
USERS = [f"u{k}" for k in range(9)]


@pytest.fixture
def shop(location: str) -> Iterator[Engine]:
    """60 items in three categories over two months, nine users with eight events each."""
    rng = random.Random(7)
    engine = Engine.open(location, model="hashing-64")
    items = [
        {
            "id": f"i{k:02d}",
            "title": " ".join(rng.sample(WORDS, 3)),
            "category": "abc"[k % 3],
            "published_at": f"2026-{10 + k % 2}-{1 + k % 28:02d}",
        }
        for k in range(60)
    ]
    engine.add_items(items)
    events = [
        {"user_id": u, "item_id": f"i{rng.randrange(60):02d}", "type": rng.choice(["like", "view"])}
        for u in USERS
        for _ in range(8)
    ]
    engine.record_many(events)
    yield engine
    engine.close()


def lists(rows: Iterator[tuple[str, Recommendation]]) -> dict[str, Recommendation]:
    return dict(rows)


def same(a: Recommendation, b: Recommendation) -> None:
    assert [(r.id, r.reason, r.because) for r in a.items] == [
        (r.id, r.reason, r.because) for r in b.items
    ]
    assert [r.score for r in a.items] == pytest.approx([r.score for r in b.items], abs=1e-5)


@pytest.mark.parametrize("strategy", ["dislike", "ema", "mean", "momentum", "hybrid"])
def test_rows_equal_the_per_user_lists(shop: Engine, strategy: str) -> None:
    where = {"category": {"in": ["a", "b"]}}
    got = lists(
        shop.digest("weekly", 5, exclude_sent=False, strategy=strategy, where=where, page=4)
    )
    assert sorted(got) == USERS  # every user with a profile, over three pages
    for user in USERS:
        want = shop.recommend(user, n=5, strategy=strategy, where=where, track=False)
        assert len(got[user].items) == 5
        same(got[user], want)
    # A listed user with no events gets what `recommend` gives them: popular items.
    (row,) = shop.digest("weekly", 3, users=["nobody"], exclude_sent=False, strategy=strategy)
    assert row[0] == "nobody"
    same(row[1], shop.recommend("nobody", n=3, strategy=strategy, track=False))


def test_where_and_the_seen_items_hold(shop: Engine) -> None:
    week = {"published_at": {"gte": "2026-11-01"}, "category": "c"}
    got = lists(shop.digest("weekly", 4, where=week))
    assert got
    for user, rec in got.items():
        for item in (shop.get(r.id) for r in rec.items):
            assert item.metadata["category"] == "c"
            assert item.metadata["published_at"] >= "2026-11-01"
        assert not {r.id for r in rec.items} & set(shop.seen(user))


def test_a_second_digest_leaves_out_what_the_first_sent(shop: Engine) -> None:
    repeated = [*USERS[:4], USERS[0], *USERS[:2]]  # one list a user, over pages of one
    rows = list(shop.digest("weekly", 5, users=repeated, page=1))
    assert [u for u, _ in rows] == USERS[:4]
    first = dict(rows)
    second = lists(shop.digest("monthly", 5, users=USERS[:4]))  # any earlier digest counts
    for user in USERS[:4]:
        assert len(second[user].items) == 5
        assert not {r.id for r in first[user].items} & {r.id for r in second[user].items}
    again = lists(shop.digest("weekly", 5, users=USERS[:4], exclude_sent=False))
    for user in USERS[:4]:
        same(again[user], first[user])


def test_the_lists_count_as_impressions_of_strategy_digest(shop: Engine) -> None:
    got = lists(shop.digest("weekly", 3))
    clicked = got["u1"]
    shop.record("u1", clicked.items[0].id, "click", recommendation_id=clicked.id)
    (row,) = [r for r in shop.ctr_report() if r.group == "digest"]
    assert (row.impressions, row.clicks) == (len(got), 1)


BAD = [
    ({"n": 0}, "n"),
    ({"n": MAX_N + 1}, "n"),
    ({"where": {"published_at": {"gte": "last week"}}}, "where.published_at.gte"),
    ({"strategy": "best"}, "strategy"),
    ({"users": "u1"}, "users"),
    ({"name": "Weekly News!"}, "name"),
    ({"segment": "Premium!"}, "segment"),
    ({"segment": "premium", "users": ["u1"]}, "segment"),
]


def test_bad_input_is_refused_before_anything_is_sent(shop: Engine) -> None:
    for kwargs, field in BAD:  # one store for them all: each must leave it as it was
        args: dict[str, object] = {"name": "weekly", "n": 5, **kwargs}
        with pytest.raises(InvalidInput) as caught:
            shop.digest(**args)  # type: ignore[arg-type]
        assert caught.value.field == field, kwargs
    with pytest.raises(InvalidInput) as caught:
        list(shop.digest("weekly", 5, users=["u1", ""]))
    assert caught.value.field == "users[1]"
    assert shop.ctr_report() == []  # no list logged as sent


def test_a_digest_for_a_segment_makes_its_users_lists_only(shop: Engine) -> None:
    for k, user in enumerate(USERS):
        shop.set_user_properties(user, {"plan": "premium" if k % 3 == 0 else "free"})
    shop.create_segment("premium", {"plan": "premium"})
    got = lists(shop.digest("weekly", 4, segment="premium"))
    assert sorted(got) == ["u0", "u3", "u6"]
    for user, rec in got.items():  # the very lists the users would get on their own
        same(rec, shop.recommend(user, n=4, track=False))
    with pytest.raises(NotFound) as caught:
        shop.digest("weekly", 4, segment="nobody")
    assert caught.value.field == "segment"
    job = shop.start_digest("monthly", 4, segment="premium")
    assert job["total"] == 3
    with pytest.raises(NotFound):
        shop.start_digest("monthly", 4, segment="nobody")


def test_a_forget_takes_the_users_digest_state(shop: Engine) -> None:
    first = lists(shop.digest("weekly", 5, users=["u2", "u3"]))
    assert shop.store.digest_reads(["u2"])["u2"].sent == {r.id for r in first["u2"].items}
    shop.forget_user("u2")
    assert shop.store.digest_reads(["u2"])["u2"] == (None, [], set())
    assert shop.store.digest_reads(["u3"])["u3"].sent  # the others' state stays
    assert "u2" not in lists(shop.digest("weekly", 5, users=None))
