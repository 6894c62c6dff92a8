"""Properties and segments through `likewise.Client` against a live `likewise serve`, and
through the embedded Engine: the same answers and the same errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.client.conftest import WRITE, Server
from tests.client.test_congruence import Both

from likewise import Client, Engine

ARMS = ["a:strategy=ema", "b:strategy=mean"]
ITEMS = [{"id": "a1", "title": "moon"}, {"id": "a2", "title": "sun"}]


@pytest.fixture
def both(server: Server, tmp_path: Path) -> Iterator[Both]:
    engine = Engine.open(str(tmp_path / "data"), model="hashing-64")
    client = Client(server.url, api_key=WRITE, timeout=30)
    yield Both(engine, client)
    client.close()
    engine.close()


def test_properties_and_segments_answer_alike(both: Both) -> None:
    both("items", lambda x: x.add_items(ITEMS))
    props = both("set", lambda x: x.set_user_properties("u1", {"plan": "premium", "age": 34}))
    assert props == {"plan": "premium", "age": 34}
    both("merge", lambda x: x.set_user_properties("u1", {"age": None, "country": "DE"}))
    both("replace", lambda x: x.set_user_properties("u2", {"plan": "free"}, replace=True))
    assert both("get", lambda x: x.user_properties("u1")) == {"plan": "premium", "country": "DE"}
    both("none", lambda x: x.user_properties("nobody"))
    both("bad value", lambda x: x.set_user_properties("u1", {"plan": {"a": 1}}))
    both("bad key", lambda x: x.set_user_properties("u1", {"$x": 1}))
    made = both("create", lambda x: x.create_segment("premium", {"plan": "premium"}))
    assert made == {"name": "premium", "where": {"plan": "premium"}, "created": True}
    both("again", lambda x: x.create_segment("premium", {"plan": {"in": ["premium"]}}))
    both("bad where", lambda x: x.create_segment("premium", {"plan": {"gte": "soon"}}))
    both("bad name", lambda x: x.create_segment("Premium", {"plan": "x"}))
    assert both("list", lambda x: x.list_segments())[0]["name"] == "premium"
    assert both("mine", lambda x: x.user_segments("u1")) == ["premium"]
    experiment = both("experiment", lambda x: x.create_experiment("x", ARMS, segment="premium"))
    assert experiment.segment == "premium"
    both("stop", lambda x: x.stop_experiment("x"))
    both("missing segment", lambda x: x.create_experiment("y", ARMS, segment="gold"))
    both("track", lambda x: x.recommend("u1", n=1))
    both("report", lambda x: x.ctr_report(group_by="segment"))
    both("delete", lambda x: x.delete_segment("premium"))
    both("deleted", lambda x: x.delete_segment("premium"))
    assert both("forget", lambda x: x.forget_user("u1"))["user_properties"] == 1
    assert both("forgotten", lambda x: x.user_properties("u1")) == {}
