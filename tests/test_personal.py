"""Personalisation through the Engine: events, profiles, strategies, cold start, consistency."""

from __future__ import annotations

import hashlib
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from likewise import ConfigError, Engine, InvalidInput, NotFound, Settings
from likewise.embedders.base import Embedder, Vectors

NEWS = [
    {"id": "space1", "title": "Rocket reaches the moon", "tags": ["space"], "category": "news"},
    {"id": "space2", "title": "Moon rocket launch delayed", "tags": ["space"], "category": "news"},
    {"id": "space3", "title": "Astronauts train for Mars", "tags": ["space"], "category": "blog"},
    {"id": "food1", "title": "Pasta with tomato sauce", "tags": ["food"], "category": "recipes"},
    {"id": "food2", "title": "Tomato pasta bake", "tags": ["food"], "category": "recipes"},
    {"id": "food3", "title": "Pasta salad for summer", "tags": ["food"], "category": "blog"},
]


@pytest.fixture
def news(engine: Engine) -> Engine:
    engine.add_items(NEWS)
    return engine


def ids(engine: Engine, user: str, **kwargs: object) -> list[str]:
    return [r.id for r in engine.recommend(user, **kwargs).items]  # type: ignore[arg-type]


def test_a_user_with_nothing_gets_popular_items(news: Engine) -> None:
    fresh = news.recommend("nobody", n=3)
    assert fresh.strategy == "popular" and {r.reason for r in fresh.items} == {"new"}
    news.record_many([{"user_id": f"u{k}", "item_id": "food2", "type": "like"} for k in range(3)])
    news.record("u9", "space3", "click")
    rec = news.recommend("nobody", n=2)
    assert [(r.id, r.reason) for r in rec.items] == [("food2", "popular"), ("space3", "popular")]
    assert ids(news, "nobody", n=1, where={"category": "blog"}) == ["space3"]


def test_the_first_click_starts_the_profile(news: Engine) -> None:
    assert news.record("u1", "space1", "click")
    rec = news.recommend("u1", n=2)
    assert rec.strategy == "dislike"
    assert [r.id for r in rec.items] == ["space2", "space3"]
    assert rec.items[0].because == "space1"
    assert rec.items[0].reason == "because you liked 'Rocket reaches the moon'"
    profile = news.profile("u1", n=1)
    assert profile["nearest"][0]["id"] == "space1"  # the vector is the clicked item's
    assert profile["nearest"][0]["score"] == pytest.approx(1.0, abs=1e-5)
    assert (profile["events"], profile["positives"]) == (1, 1)


def test_seen_and_disliked_items_are_left_out_unless_asked(news: Engine) -> None:
    news.record("u1", "space1", "like")
    news.record("u1", "space2", "dislike")
    assert {"space1", "space2"}.isdisjoint(ids(news, "u1", n=6))
    assert "space1" in ids(news, "u1", n=6, include_seen=True)
    got = ids(news, "u1", n=6, where={"category": "recipes"}, exclude=["food1"])
    assert got == ["food2"]


def test_a_dislike_turns_the_profile_away(news: Engine) -> None:
    news.record("u1", "space1", "like")
    news.record("u1", "food1", "like")
    before = {h["id"]: h["score"] for h in news.profile("u1", n=6)["nearest"]}
    news.record("u1", "food2", "dislike")
    after = {h["id"]: h["score"] for h in news.profile("u1", n=6)["nearest"]}
    assert after["food2"] < before["food2"]
    assert news.profile("u1")["negatives"] == 1


def test_every_strategy_answers_with_filters(news: Engine) -> None:
    news.record_many(
        [{"user_id": "u1", "item_id": i, "type": "click"} for i in ("space1", "food1", "space2")]
    )
    for strategy in ("mean", "ema", "dislike", "momentum"):
        rec = news.recommend("u1", n=2, strategy=strategy, where={"category": "blog"})
        assert rec.strategy == strategy
        assert {r.id for r in rec.items} == {"space3", "food3"}
    with pytest.raises(InvalidInput) as caught:
        news.recommend("u1", strategy="telepathy")
    assert caught.value.field == "strategy"
    with pytest.raises(InvalidInput) as caught:
        news.recommend(" ")
    assert caught.value.field == "user_id"
    with pytest.raises(ConfigError, match="strategy"):
        Engine.open(news.stats()["location"], settings=Settings(strategy="telepathy"))


def test_bad_events_store_nothing(news: Engine) -> None:
    good = {"user_id": "u1", "item_id": "space1", "type": "click"}
    batch = [good, {**good, "item_id": "nope"}]
    with pytest.raises(NotFound, match="item 'nope' not found") as missing:
        news.record_many(batch)
    assert missing.value.field == "events[1].item_id"
    with pytest.raises(InvalidInput) as caught:
        news.record_many([good, {**good, "type": "rating", "value": 7}])
    assert caught.value.field == "events[1].value"
    with pytest.raises(NotFound) as missing:
        news.record("u1", "nope", "click")
    assert missing.value.field == "item_id"
    assert news.stats()["events"] == 0 and news.profile("u1")["events"] == 0


def test_resending_an_event_id_is_a_no_op(news: Engine) -> None:
    assert news.record("u1", "space1", "like", event_id="e1")
    assert not news.record("u1", "space1", "like", event_id="e1")
    report = news.record_many(
        [
            {"user_id": "u1", "item_id": "food1", "type": "like", "event_id": "e2"},
            {"user_id": "u1", "item_id": "food1", "type": "like", "event_id": "e2"},
            {"user_id": "u1", "item_id": "space1", "type": "like", "event_id": "e1"},
        ]
    )
    assert (report.accepted, report.duplicates) == (1, 2)
    assert news.profile("u1")["events"] == 2


def test_onboarding_text_starts_a_new_user(news: Engine) -> None:
    news.onboard("u1", text="Rocket reaches the moon")
    rec = news.recommend("u1", n=1)
    assert rec.items[0].id == "space1" and rec.items[0].reason == "matches your interests"
    news.onboard("u2", items=["food1", "food2"])
    assert ids(news, "u2", n=1) == ["food1"] or ids(news, "u2", n=1) == ["food2"]
    news.record("u3", "food1", "like")
    with pytest.raises(InvalidInput) as caught:
        news.onboard("u3", text="space")
    assert caught.value.field == "user_id"
    with pytest.raises(InvalidInput) as caught:
        news.onboard("u4")
    assert caught.value.field == "text"
    with pytest.raises(NotFound, match="item 'gone' not found") as missing:
        news.onboard("u4", items=["food1", "gone"])
    assert missing.value.field == "items[1]" and news.profile("u4")["events"] == 0


def _random_log(engine: Engine, rng: random.Random, users: int, events: int) -> None:
    items = [r["id"] for r in NEWS]
    types = [("view", None), ("click", None), ("like", None), ("dislike", None), ("skip", None)]
    types += [("rating", 5), ("rating", 1), ("dwell", 40), ("dwell", 3), ("purchase", None)]
    batch = []
    for k in range(events):
        kind, value = rng.choice(types)
        event = {"user_id": f"u{rng.randrange(users)}", "item_id": rng.choice(items)}
        event.update({"type": kind, "timestamp": 1_000_000 + k})
        if value is not None:
            event["value"] = value
        batch.append(event)
        if rng.random() < 0.5 or k == events - 1:  # some one at a time, some in batches
            engine.record_many(batch)
            batch = []


def _profiles(engine: Engine, users: int) -> dict[str, tuple[object, ...]]:
    out: dict[str, tuple[object, ...]] = {}
    for k in range(users):
        state = engine.store.profile(f"u{k}")
        if state is None:
            continue
        snaps = engine.store.snapshots(state.user_id, 1000)
        out[state.user_id] = (state.interest, state.ema, state.events, [s.vector for s in snaps])
    return out


def _same(a: dict[str, tuple[object, ...]], b: dict[str, tuple[object, ...]]) -> None:
    assert a.keys() == b.keys()
    for user, (interest, ema, count, snaps) in a.items():
        other = b[user]
        for x, y in ((interest, other[0]), (ema, other[1])):
            assert (x is None) == (y is None)
            if x is not None:
                np.testing.assert_allclose(x, y, atol=1e-6)  # type: ignore[arg-type]
        assert count == other[2]
        assert len(snaps) == len(other[3])  # type: ignore[arg-type]
        for s, t in zip(snaps, other[3], strict=True):  # type: ignore[call-overload]
            np.testing.assert_allclose(s, t, atol=1e-6)


def test_replaying_the_log_gives_the_online_profiles(tmp_path: Path) -> None:
    settings = Settings(snapshot_every=3)
    with Engine.open(str(tmp_path / "d"), model="hashing-64", settings=settings) as engine:
        engine.add_items(NEWS)
        _random_log(engine, random.Random(7), users=8, events=300)
        online = _profiles(engine, 8)
        assert engine.rebuild_profiles() == 8
        _same(online, _profiles(engine, 8))
        assert sum(len(p[3]) for p in online.values()) > 50  # type: ignore[arg-type]


def test_two_threads_recording_for_one_user_lose_nothing(news: Engine) -> None:
    items = [r["id"] for r in NEWS]

    def work(offset: int) -> None:
        for k in range(150):
            news.record("u1", items[(k + offset) % 6], "click", timestamp=float(k))

    threads = [threading.Thread(target=work, args=(o,)) for o in (0, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert news.profile("u1")["events"] == 300
    online = _profiles(news, 2)
    news.rebuild_profiles()
    _same(online, _profiles(news, 2))


class AngleEmbedder(Embedder):
    """Texts "angle 0.7 #3" become unit vectors at that angle in one plane, plus small jitter."""

    model_id = "angle-test"
    dim = 16

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            angle = float(text.split()[1])
            seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
            out[row, 2:] = np.random.default_rng(seed).normal(0, 0.05, self.dim - 2)
            out[row, :2] = (math.cos(angle), math.sin(angle))
        return out


def test_momentum_sees_where_a_drifting_user_goes_next(tmp_path: Path) -> None:
    settings = Settings(snapshot_every=4, history=8, mean_n=10)
    clusters = [0.0, 0.4, 0.8, 1.2, 1.6, 2.0]
    items = [
        {"id": f"c{c}-{k}", "title": f"angle {angle + (k - 10) * 0.005:.4f} #{k}"}
        for c, angle in enumerate(clusters)
        for k in range(20)
    ]
    with Engine.open(str(tmp_path / "d"), embedder=AngleEmbedder(), settings=settings) as eng:
        eng.add_items(items)
        for c in range(4):  # clusters 0..3 in turn; cluster 4 is where the drift leads
            eng.record_many(
                [{"user_id": "u", "item_id": f"c{c}-{k}", "type": "click"} for k in range(8)]
            )

        def rank_of_next_cluster(strategy: str) -> int:
            got = ids(eng, "u", n=60, strategy=strategy)
            return next(rank for rank, i in enumerate(got) if i.startswith("c4-"))

        # The unseen rest of cluster 3 (12 items) comes first for mean; momentum, projecting
        # the drift, reaches cluster 4 sooner.
        assert rank_of_next_cluster("mean") >= 12
        assert rank_of_next_cluster("momentum") < rank_of_next_cluster("mean")


def test_profiles_and_events_survive_reopening(tmp_path: Path) -> None:
    location = str(tmp_path / "d")
    with Engine.open(location, model="hashing-64") as eng:
        eng.add_items(NEWS)
        eng.record("u1", "space1", "like", event_id="e1")
        before = eng.recommend("u1", n=3).items
    with Engine.open(location) as eng:
        assert eng.recommend("u1", n=3).items == before
        assert not eng.record("u1", "space1", "like", event_id="e1")


_RECORDER = """
import sys
from likewise import Engine
engine = Engine.open(sys.argv[1], model="hashing-64")
engine.add_items([{"id": f"i{k}", "title": f"item {k}"} for k in range(20)])
k = 0
while True:
    engine.record("u1", f"i{k % 20}", "click", event_id=f"e{k}")
    print(k, flush=True)
    k += 1
"""


def test_kill_9_loses_no_acknowledged_event(tmp_path: Path) -> None:
    acknowledged = -1
    with subprocess.Popen(
        [sys.executable, "-c", _RECORDER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while acknowledged < 200 and time.monotonic() < deadline:
            acknowledged = int(proc.stdout.readline())
        os.kill(proc.pid, signal.SIGKILL)
    assert acknowledged >= 200, "the recorder did not get going"
    with Engine.open(str(tmp_path)) as eng:
        stored = eng.stats()["events"]
        assert stored >= acknowledged + 1
        # The profile was committed with its events: it counts exactly the stored log.
        assert eng.profile("u1")["events"] == stored
        for k in range(acknowledged + 1):
            assert not eng.record("u1", f"i{k % 20}", "click", event_id=f"e{k}")


def test_hybrid_blends_in_what_similar_users_liked(tmp_path: Path) -> None:
    with Engine.open(str(tmp_path / "d"), model="hashing-64") as eng:
        eng.add_items(NEWS)
        # Everyone who liked space1 also liked food3, though their texts share nothing.
        eng.record_many(
            [
                {"user_id": f"fan{k}", "item_id": item, "type": "like"}
                for k in range(5)
                for item in ("space1", "food3")
            ]
        )
        eng.record("u1", "space1", "like")
        before = ids(eng, "u1", n=1, strategy="hybrid")
        assert before == ["space2"]  # untrained: content alone
        assert eng.train()["items"] == 2
        rec = eng.recommend("u1", n=2, strategy="hybrid")
        assert rec.strategy == "hybrid" and rec.items[0].id == "food3"
        assert rec.items[0].because == "space1"
        assert ids(eng, "u1", n=5, strategy="hybrid", where={"category": "news"}) == ["space2"]
        assert "food3" not in ids(eng, "u1", n=5, strategy="hybrid", exclude=["food3"])
    with Engine.open(str(tmp_path / "d")) as eng:  # the model is kept in the store
        assert ids(eng, "u1", n=1, strategy="hybrid") == ["food3"]


def test_recommendation_ids_are_distinct_and_differ_in_a_forked_child() -> None:
    import os

    from likewise.recommend import new_id

    ids = {new_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child writes its next id; a shared generator state would repeat ours
        os.write(write, new_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    assert child != new_id() and len(child) == 32


def test_an_item_with_a_zero_vector_counts_but_moves_no_profile(tmp_path: Path) -> None:
    """The hashing model maps "item 35" to nothing (a zero vector), as a team's own vectors
    may: events on it are recorded and counted, one at a time and in a batch, over HTTP
    too, and the profile keeps its direction (it was a 500: "the item vector is zero")."""
    from fastapi.testclient import TestClient

    from likewise.service import create_app

    with Engine.open(str(tmp_path / "data"), model="hashing-64") as engine:
        engine.add_items([{"id": "z", "title": "item 35"}, {"id": "a", "title": "space rocket"}])
        assert not np.any(engine.vectors(["z"])["z"])
        engine.record("u1", "z", "like")
        assert engine.profile("u1")["events"] == 1
        engine.record_many([{"user_id": "u2", "item_id": i, "type": "like"} for i in "za"])
        engine.record("u1", "a", "like")
        engine.record("u1", "z", "like")
        near = engine.profile("u1")["nearest"]
        assert near and near[0]["id"] == "a"  # the zero vector moved nothing
        with TestClient(create_app(Settings(), engine=engine)) as client:
            event = {"user_id": "u3", "item_id": "z", "type": "like"}
            assert client.post("/v1/events", json=event).status_code == 200
            assert client.get("/v1/users/u3/recommendations").status_code == 200


def test_a_hybrid_before_any_train_says_it_is_content_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 19: `hybrid` before any `train` was silently content-only, even with -v."""
    import logging

    with Engine.open(str(tmp_path / "data"), model="hashing-64") as engine:
        engine.add_items([{"id": "a", "title": "space rocket"}, {"id": "b", "title": "soup"}])
        engine.record("u1", "a", "like")
        with caplog.at_level(logging.INFO, logger="likewise"):
            engine.recommend("u1", strategy="ema")
            assert "before any `likewise train`" not in caplog.text
            engine.recommend("u1", strategy="hybrid")
            engine.recommend("u2", strategy="hybrid")
        said = [r for r in caplog.records if "before any `likewise train`" in r.message]
        assert len(said) == 1  # once, not once a request
