"""/v1/events and /v1/users: recommendations with tracking, profiles, onboarding, forgetting."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from tests.service.conftest import CATALOG

from likewise import Engine, Settings
from likewise.service import create_app


def test_events_then_recommendations(client: TestClient, engine: Engine) -> None:
    cold = client.get("/v1/users/u1/recommendations", params={"n": 2}).json()
    assert cold["strategy"] == "popular" and [i["position"] for i in cold["items"]] == [1, 2]
    one = client.post("/v1/events", json={"user_id": "u1", "item_id": "space1", "type": "like"})
    assert one.json() == {"accepted": 1, "duplicates": 0, "skipped": 0, "created": 0}
    rec = client.get("/v1/users/u1/recommendations", params={"n": 1}).json()
    assert rec["strategy"] == "dislike"
    assert rec["items"][0] | {"score": 0} == {
        "id": "space2",
        "score": 0,
        "position": 1,
        "reason": "because you liked 'Rocket reaches the moon'",
        "because": "space1",
    }
    news = client.get(
        "/v1/users/u1/recommendations",
        params={"strategy": "mean", "where": '{"category": "recipes"}', "n": 5},
    ).json()
    assert {i["id"] for i in news["items"]} == {"food1", "food2"}
    assert client.get("/v1/users/u1/profile").json()["events"] == 1


def test_event_batches_are_all_or_nothing_and_idempotent(
    client: TestClient, engine: Engine
) -> None:
    batch = [
        {"user_id": "u1", "item_id": "space1", "type": "click", "event_id": "e1"},
        {"user_id": "u1", "item_id": "nope", "type": "click"},
    ]
    bad = client.post("/v1/events", json=batch)
    assert bad.status_code == 404 and bad.json()["error"]["field"] == "events[1].item_id"
    assert engine.stats()["events"] == 0
    ok = client.post("/v1/events", json=batch[:1])
    again = client.post("/v1/events", json=batch[0])
    assert ok.json()["accepted"] == 1 and again.json() == {
        "accepted": 0,
        "duplicates": 1,
        "skipped": 0,
        "created": 0,
    }
    rating = client.post(
        "/v1/events", json={"user_id": "u1", "item_id": "food1", "type": "rating", "value": 9}
    )
    assert rating.status_code == 422 and rating.json()["error"]["field"] == "value"


def test_bad_recommendation_parameters(client: TestClient) -> None:
    r = client.get("/v1/users/u1/recommendations", params={"strategy": "telepathy"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "strategy"
    r = client.get("/v1/users/u1/recommendations", params={"context": "[1]"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "context"
    r = client.get("/v1/users/u1/recommendations", params={"weights": '{"content": "x"}'})
    assert r.status_code == 422 and r.json()["error"]["field"] == "weights.content"
    r = client.get("/v1/users/u1/recommendations", params={"diversity": 2})
    assert r.status_code == 422 and r.json()["error"]["field"] == "diversity"
    ok = {"strategy": "hybrid", "weights": '{"content": 1}', "diversity": 0.5}
    assert client.get("/v1/users/u1/recommendations", params=ok).status_code == 200


def test_onboarding_and_forgetting(client: TestClient, engine: Engine) -> None:
    r = client.post("/v1/users/new/onboarding", json={"items": ["food1"]})
    assert r.status_code == 204
    rec = client.get("/v1/users/new/recommendations", params={"n": 2}).json()
    assert {i["id"] for i in rec["items"]} == {"food1", "food2"}  # chosen, not consumed
    client.post("/v1/events", json={"user_id": "u1", "item_id": "food1", "type": "like"})
    clash = client.post("/v1/users/u1/onboarding", json={"text": "space"})
    assert clash.status_code == 409 and clash.json()["error"]["field"] == "user_id"
    missing = client.post("/v1/users/u2/onboarding", json={"items": ["food1", "gone"]})
    assert missing.status_code == 404 and missing.json()["error"] == {
        "code": "not_found",
        "message": "item 'gone' not found",
        "field": "items[1]",
    }
    client.get("/v1/users/u1/recommendations")
    gone = client.delete("/v1/users/u1").json()
    assert gone["deleted"]["events"] == 1 and gone["deleted"]["impressions"] == 1
    assert gone["models"] is None  # nothing trained: nothing holds them
    assert client.get("/v1/users/u1/profile").json()["events"] == 0
    assert engine.store.popular(n=1)[0].score == 0.0  # their like no longer counts
    client.post("/v1/events", json={"user_id": "u2", "item_id": "space1", "type": "like"})
    client.post("/v1/events", json={"user_id": "u2", "item_id": "space2", "type": "like"})
    engine.train()
    note = client.delete("/v1/users/u2").json()["models"]
    assert "until the next `likewise train` (none is scheduled" in note


def test_forget_says_when_a_scheduled_train_drops_the_user(tmp_path: Path) -> None:
    settings = Settings(train_every=600)
    with Engine.open(str(tmp_path / "data"), model="hashing-64", settings=settings) as engine:
        engine.add_items(CATALOG)
        engine.record("u1", "space1", "like")
        engine.train()
        with TestClient(create_app(settings, engine=engine)) as client:
            note = client.delete("/v1/users/u1").json()["models"]
    assert note.endswith("until the next scheduled train (this server retrains every 600 s)")
