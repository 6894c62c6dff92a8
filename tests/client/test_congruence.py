"""Congruence: one scenario run on the embedded Engine and, through `likewise.Client`, on a
live `likewise serve` over a second store; every answer (ids, scores, shapes, types) and
every error (class and field) must agree, as qdrant-client checks its local and remote modes.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel
from tests.client.conftest import READ, WRITE, Server

from likewise import (
    Client,
    Conflict,
    Engine,
    InvalidInput,
    LikewiseError,
    NotFound,
    Recommendation,
    Unauthorized,
)
from likewise.items.model import Item
from likewise.tracking.experiments import Experiment

WORDS = {
    "space": ["rocket", "moon", "orbit", "launch", "planet", "astronaut", "comet", "mars"],
    "food": ["pasta", "tomato", "bread", "cheese", "soup", "curry", "salad", "oven"],
    "sport": ["football", "goal", "match", "league", "tennis", "race", "coach", "cup"],
    "music": ["guitar", "concert", "album", "song", "piano", "band", "jazz", "tour"],
}
CATEGORY = {"space": "news", "food": "recipes", "sport": "news", "music": "culture"}
CATALOG = [
    {
        "id": f"{topic}{k}",
        "title": f"{words[k]} {words[(k + 3) % 8]} {words[(k + 5) % 8]}",
        "body": f"all about the {words[k]} and the {words[(k + 1) % 8]}",
        "tags": [topic],
        "category": CATEGORY[topic],
        "year": 2000 + k,
    }
    for topic, words in WORDS.items()
    for k in range(8)
]
TYPES = ["like", "click", "view", "purchase", "dislike"]
T0 = 1_700_000_000.0
EVENTS = [
    {
        "user_id": f"u{u}",
        "item_id": CATALOG[(u * 5 + 3 * k) % len(CATALOG)]["id"],
        "type": TYPES[(u + k) % len(TYPES)],
        "timestamp": T0 + 60 * (u * 10 + k),
        "event_id": f"e{u}-{k}",
    }
    for u in range(8)
    for k in range(6)
]
SKIP = {
    Recommendation: {"id"},  # a new random id per list
    Experiment: {"started", "stopped"},  # wall times, a moment apart
}
SKIP_KEYS = {"updated_at", "location", "db_bytes", "backend", "cache", "latency_ms"}


def assert_alike(a: Any, b: Any, where: str = "") -> None:
    """Equal, numbers within float noise; the fields in SKIP and keys in SKIP_KEYS aside."""
    if isinstance(a, numbers.Real) and not isinstance(a, bool):
        assert isinstance(b, numbers.Real), where
        assert float(b) == pytest.approx(float(a), rel=1e-4, abs=1e-6), where
        return
    if isinstance(a, list | tuple):  # JSON has one kind of array: a dict's tuple comes back a list
        assert isinstance(b, list | tuple), where
        assert len(a) == len(b), f"{where}: {len(a)} != {len(b)} items: {a} vs {b}"
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_alike(x, y, f"{where}[{k}]")
        return
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        for f in dataclasses.fields(a):
            if f.name not in SKIP.get(type(a), set()):
                assert_alike(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
        if isinstance(a, Experiment):
            assert (a.stopped is None) == (b.stopped is None), where
    elif isinstance(a, BaseModel):
        assert_alike(a.model_dump(), b.model_dump(), where)
    elif isinstance(a, dict):
        assert set(a) == set(b), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            if k not in SKIP_KEYS:
                assert_alike(a[k], b[k], f"{where}.{k}")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


class Both:
    """Each call runs on the engine, then on the client; answers or errors compared."""

    def __init__(self, engine: Engine, client: Client) -> None:
        self.engine, self.client = engine, client
        self.steps = 0

    def __call__(self, name: str, call: Callable[[Any], Any]) -> Any:
        self.steps += 1
        local, remote = self._run(call, self.engine), self._run(call, self.client)
        if isinstance(local, LikewiseError) or isinstance(remote, LikewiseError):
            assert type(remote) is type(local), f"{name}: {local!r} vs {remote!r}"
            assert getattr(remote, "field", None) == getattr(local, "field", None), name
            return remote
        assert_alike(local, remote, name)
        return remote

    @staticmethod
    def _run(call: Callable[[Any], Any], target: Any) -> Any:
        try:
            return call(target)
        except LikewiseError as exc:
            return exc


@pytest.fixture
def both(server: Server, tmp_path: Path) -> Iterator[Both]:
    engine = Engine.open(str(tmp_path / "data"), model="hashing-64")
    client = Client(server.url, api_key=WRITE, timeout=30)
    yield Both(engine, client)
    client.close()
    engine.close()


def test_one_scenario_answers_alike_embedded_and_over_http(both: Both) -> None:
    # items in
    both("add_items", lambda t: t.add_items(CATALOG))
    changed = {**CATALOG[1], "title": "a rocket to mars, changed"}
    both("add_items changed", lambda t: t.add_items([CATALOG[0], changed]))
    both("get", lambda t: t.get("space1"))
    both("get_many", lambda t: t.get_many(["space1", "nope", "food2"]))
    both("count", lambda t: t.count())
    # events in
    both("record_many", lambda t: t.record_many(EVENTS))
    both("record_many resent", lambda t: t.record_many(EVENTS[:5]))
    event = {"user_id": "u9", "item_id": "food1", "type": "like", "timestamp": T0, "event_id": "x"}
    both("record", lambda t: t.record(**event))
    both("record again", lambda t: t.record(**event))
    both(
        "record_event",
        lambda t: t.record_event({**event, "event_id": "y", "item_id": "food2", "value": None}),
    )
    # related items and search
    news = {"category": "news"}
    assert len(both("similar", lambda t: t.similar("space1", n=5))) == 5
    both("similar where", lambda t: t.similar("space1", n=5, where=news, exclude=["space2"]))
    both("similar text space", lambda t: t.similar("food1", n=4, space="text", min_score=0.0))
    both("similar content", lambda t: t.similar("food1", n=4, source="content"))
    both("search", lambda t: t.search("rocket to the moon", n=5))
    both("search where", lambda t: t.search("pasta", n=3, where={"year": {"$gte": 2003}}))
    # "for you" lists
    both("recommend", lambda t: t.recommend("u1", n=5))
    shown = both(
        "recommend where", lambda t: t.recommend("u1", n=4, where=news, exclude=["sport1"])
    )
    assert shown.items and all(r.id.startswith(("space", "sport")) for r in shown.items)
    assert "sport1" not in [r.id for r in shown.items]
    assert both("recommend offset", lambda t: t.recommend("u2", n=3, offset=2)).offset == 2
    both("recommend mean", lambda t: t.recommend("u3", n=3, strategy="mean", include_seen=True))
    both("recommend context", lambda t: t.recommend("u3", n=3, context={"device": "mobile"}))
    both("recommend popular", lambda t: t.recommend("nobody", n=3))
    both(
        "recommend hybrid",
        lambda t: t.recommend("u4", n=4, strategy="hybrid", weights={"content": 1.0}),
    )
    # A list of numbers: Engine.recommend_from takes a Sequence, which a numpy array is not.
    vector = both.engine.vectors(["music2"])["music2"].tolist()
    session = both("recommend_from", lambda t: t.recommend_from(["space1"], ["food1"], n=4))
    assert len(session.items) == 4 and session.user_id == ""
    both(
        "recommend_from vector",
        lambda t: t.recommend_from([vector], n=3, strategy="best_score", user_id="s1"),
    )
    both("popular", lambda t: t.popular(n=5))
    both("popular where", lambda t: t.popular(n=3, where=news, exclude=["space3"]))
    both("popular trending", lambda t: t.popular(n=3, trending=True))
    both("latest", lambda t: t.latest(n=4, where={"category": "culture"}))
    # pages
    first = both("list_items", lambda t: t.list_items(limit=10))
    both("list_items next", lambda t: t.list_items(limit=10, cursor=first.next_cursor))
    both("list_items where", lambda t: t.list_items(limit=5, where=news))
    page = both("user_events", lambda t: t.user_events("u1", limit=4))
    both("user_events older", lambda t: t.user_events("u1", limit=4, cursor=page.next_cursor))
    both("profile", lambda t: t.profile("u1", n=3))
    # users
    both("onboard", lambda t: t.onboard("new1", text="rockets and planets"))
    both("recommend onboarded", lambda t: t.recommend("new1", n=3))
    both("onboard again", lambda t: t.onboard("u1", text="pasta"))  # Conflict: a history
    assert isinstance(both.client.track("u1", "shelf", ["space1", "food1"]), str)
    both.engine.track("u1", "shelf", ["space1", "food1"])
    # experiments and reports
    both("create_experiment", lambda t: t.create_experiment("exp1", ["a:strategy=ema", "b:mean"]))
    variants = ["a:strategy=ema", "b:strategy=mean"]
    both("create_experiment", lambda t: t.create_experiment("exp1", variants, split="70/30"))
    both("second experiment", lambda t: t.create_experiment("exp2", variants))
    for user in ("u1", "u2", "u5"):
        both(f"recommend in experiment {user}", lambda t, u=user: t.recommend(u, n=3))
    both("list_experiments", lambda t: t.list_experiments())
    both("experiment_report", lambda t: t.experiment_report("exp1"))
    assert both("stop_experiment", lambda t: t.stop_experiment("exp1", promote="b")).winner == "b"
    both("stop unknown", lambda t: t.stop_experiment("nope"))
    both("ctr_report", lambda t: t.ctr_report())
    both("ctr_report by day", lambda t: t.ctr_report(group_by="day", since=T0))
    both("activity_report", lambda t: t.activity_report())
    later = T0 + 40 * 86_400  # the report's time, the same for both
    both("retention_report", lambda t: t.retention_report(until=later))
    both("retention_report weeks", lambda t: t.retention_report(by="week", days=[1, 2]))
    both("engagement_report", lambda t: t.engagement_report(group_by="variant"))
    # forgetting
    both("delete_user_events", lambda t: t.delete_user_events("u3"))
    both("forget_user", lambda t: t.forget_user("u4"))
    both("user_events forgotten", lambda t: t.user_events("u4"))
    both("delete", lambda t: t.delete(["food3", "missing"]))
    both("get deleted", lambda t: t.get("food3"))
    both("count after", lambda t: t.count())
    stats = both.client.stats()
    assert stats["items"] == both.engine.stats()["items"] == len(CATALOG) - 1
    assert stats["events"] == both.engine.stats()["events"]
    assert both.steps == 60


ERRORS: list[tuple[str, Callable[[Any], Any], type[Exception], str | None]] = [
    ("n", lambda t: t.recommend("u1", n=0), InvalidInput, "n"),
    ("strategy", lambda t: t.recommend("u1", strategy="bogus"), InvalidInput, "strategy"),
    ("similar", lambda t: t.similar("missing"), NotFound, None),
    ("get", lambda t: t.get("missing"), NotFound, None),
    ("type", lambda t: t.record("u1", "space1", "nonsense"), InvalidInput, "type"),
    (
        "batch",
        lambda t: t.record_many([EVENTS[0], {"user_id": "u1", "item_id": "space1", "type": "?"}]),
        InvalidInput,
        "events[1].type",
    ),
    ("items", lambda t: t.add_items([{"id": ""}]), InvalidInput, "items[0].id"),
    ("report", lambda t: t.experiment_report("nope"), NotFound, None),
    ("group_by", lambda t: t.ctr_report(group_by="week"), InvalidInput, "group_by"),
    ("by", lambda t: t.retention_report(by="month"), InvalidInput, "by"),
    ("days", lambda t: t.retention_report(days=[0, 7]), InvalidInput, "days"),
    ("until", lambda t: t.engagement_report(until=math.inf), InvalidInput, "until"),
    ("variant", lambda t: t.engagement_report(group_by="day"), InvalidInput, "group_by"),
]


def test_errors_are_the_engines(both: Both) -> None:
    both("catalog", lambda t: t.add_items(CATALOG[:4]))
    for name, call, kind, field in ERRORS:
        found = both(name, call)
        assert type(found) is kind and getattr(found, "field", None) == field, name


def test_experiment_while_one_runs_is_a_conflict(both: Both) -> None:
    variants = ["a:strategy=ema", "b:strategy=mean"]
    both("first", lambda t: t.create_experiment("one", variants))
    found = both("second", lambda t: t.create_experiment("two", variants))
    assert isinstance(found, Conflict)
    both("stop", lambda t: t.stop_experiment("one"))


def test_own_vectors_answer_alike(both: Both) -> None:
    both("add_space", lambda t: t.add_space("img", 3))
    both("add_space again", lambda t: t.add_space("img", 3, metric="cosine"))
    both("add_space other", lambda t: t.add_space("img", 4))  # ConfigError
    both("add_space bad name", lambda t: t.add_space("Img", 3))
    both("add_space bad metric", lambda t: t.add_space("pic", 3, metric="l1"))
    both("spaces", lambda t: t.spaces())
    own = [
        {**CATALOG[0], "vectors": {"img": [1.0, 0.0, 0.0]}},
        {**CATALOG[1], "vectors": {"img": np.array([0.0, 2.0, 0.1])}},
        Item(id="x1", title="made", vectors={"img": [0.0, 0.0, 1.0]}),
    ]
    both("add_items vectors", lambda t: t.add_items(own))
    both("add_items same", lambda t: t.add_items(own))
    both("vectors kept", lambda t: t.add_items([CATALOG[0]]))
    both("search_vector", lambda t: t.search_vector([0.1, 1.0, 0.0], n=3, space="img"))
    text = both.engine.vectors(["space1"])["space1"]
    both("search_vector text", lambda t: t.search_vector(text, n=2, min_score=0.0))
    bad = [{"id": "y1", "title": "y"}, {"id": "y2", "title": "y", "vectors": {"img": [1.0]}}]
    found = both("add_items bad", lambda t: t.add_items(bad))
    assert isinstance(found, InvalidInput) and found.field == "items[1].vectors.img"
    found = both("search_vector bad", lambda t: t.search_vector([1.0, 0.0], space="img"))
    assert isinstance(found, InvalidInput) and found.field == "vector"
    found = both("search_vector space", lambda t: t.search_vector([1.0], space="nope"))
    assert isinstance(found, InvalidInput) and found.field == "space"
    assert both.engine.vectors(["x1"], space="img")["x1"].tolist() == [0.0, 0.0, 1.0]
    # Related items in a space of one's own (GET /v1/items/{id}/similar?space=img).
    assert [h.id for h in both("similar img", lambda t: t.similar("x1", n=3, space="img"))]
    found = both("similar both", lambda t: t.similar("x1", space="img", source="content"))
    assert isinstance(found, InvalidInput) and found.field == "space"
    found = both("similar nope", lambda t: t.similar("x1", space="nope"))
    assert isinstance(found, LikewiseError) and found.field == "space", found


def test_keys_the_server_refuses_raise_unauthorized(server: Server) -> None:
    with Client(server.url) as anonymous, Client(server.url, api_key=READ) as reader:
        with pytest.raises(Unauthorized, match="API key") as none:
            anonymous.popular()
        assert none.value.status == 401 and none.value.code == "unauthorized"
        assert reader.count() >= 0  # a read key reads
        with pytest.raises(Unauthorized, match="may read") as weak:
            reader.add_items([{"id": "x1", "title": "refused"}])
        assert weak.value.status == 403
    with Client(server.url, api_key="wrong") as wrong, pytest.raises(Unauthorized, match="unknown"):
        wrong.stats()


ODD_IDS = ["a b", "é", "..", ".", "?x", "#y", "%2F", "50%", "x+y", "u:1"]


def test_odd_ids_travel_in_paths(both: Both) -> None:
    items = [{"id": i, "title": f"odd item {k} rocket"} for k, i in enumerate(ODD_IDS)]
    both("add_items", lambda t: t.add_items(items))
    for i in ODD_IDS:
        both(f"get {i}", lambda t, i=i: t.get(i))
        both(f"similar {i}", lambda t, i=i: t.similar(i, n=3))
        both(f"record {i}", lambda t, i=i: t.record(i, i, "like", event_id=f"e{i}"))
        both(f"user_events {i}", lambda t, i=i: t.user_events(i))
        both(f"profile {i}", lambda t, i=i: t.profile(i, n=2))
    both("delete", lambda t: t.delete(ODD_IDS[:3]))
    both("forget", lambda t: t.forget_user(ODD_IDS[-1]))
    assert both.client.count() == len(ODD_IDS) - 3


def test_blended_spaces_answer_alike(both: Both) -> None:
    both("add_space", lambda t: t.add_space("image", 3))
    pictured = [
        {**CATALOG[0], "vectors": {"image": [1.0, 0.0, 0.0]}},
        {**CATALOG[8], "vectors": {"image": [0.9, 0.2, 0.0]}},  # food: reads unlike space0
        {**CATALOG[9], "vectors": {"image": [0.0, 0.0, 1.0]}},
        *CATALOG[1:8],  # no picture: 0 in `image`
    ]
    both("add_items", lambda t: t.add_items(pictured))
    both("record", lambda t: t.record("u1", "space0", "like", event_id="b1"))
    blend = {"text": 0.6, "image": 0.4}
    related = both("similar spaces", lambda t: t.similar("space0", n=4, spaces=blend))
    assert related[0].id == "food0", related
    both("similar image only", lambda t: t.similar("space0", n=2, spaces={"image": 1}))
    rec = both("recommend spaces", lambda t: t.recommend("u1", n=3, spaces=blend))
    assert rec.items[0].id == "food0"
    both("recommend image", lambda t: t.recommend("u1", n=2, space="image", strategy="ema"))
    found = both(
        "recommend_from vector", lambda t: t.recommend_from(vector=[0, 0, 1.0], space="image", n=2)
    )
    assert found.items[0].id == "food1"
    both("recommend_from ids", lambda t: t.recommend_from(["space0"], space="image", n=2))
    for name, call, field in [
        ("unknown", lambda t: t.similar("space0", spaces={"nope": 1}), "spaces"),
        ("negative", lambda t: t.recommend("u1", spaces={"text": -1}), "spaces"),
        ("nan", lambda t: t.similar("space0", spaces={"text": math.nan}), "spaces"),
        ("zero", lambda t: t.recommend("u1", spaces={"text": 0, "image": 0}), "spaces"),
        ("empty", lambda t: t.similar("space0", spaces={}), "spaces"),
        ("with source", lambda t: t.similar("space0", spaces=blend, source="content"), "spaces"),
        ("hybrid", lambda t: t.recommend("u1", spaces=blend, strategy="hybrid"), "spaces"),
        ("vector dim", lambda t: t.recommend_from(vector=[1.0], space="image"), "vector"),
        ("vector space", lambda t: t.recommend_from(vector=[1.0], space="nope"), "space"),
    ]:
        found = both(name, call)
        assert isinstance(found, InvalidInput) and found.field == field, (name, found)
