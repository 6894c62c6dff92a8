"""POST /v1/events with the import settings: unknown items and the rating scale."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from likewise import Engine, Settings
from likewise.service import create_app


def event(item: str, **extra: object) -> dict[str, object]:
    return {"user_id": "u1", "item_id": item, "type": "like", **extra}


def test_unknown_items_per_request(client: TestClient, engine: Engine) -> None:
    batch = [event("space1", event_id="e1"), event("zz", event_id="e2")]
    rejected = client.post("/v1/events", json=batch)
    assert rejected.status_code == 404
    assert rejected.json()["error"] == {
        "code": "not_found",
        "message": "item 'zz' not found",
        "field": "events[1].item_id",
    }
    skipped = client.post("/v1/events", params={"unknown_items": "skip"}, json=batch)
    assert skipped.json() == {"accepted": 1, "duplicates": 0, "skipped": 1, "created": 0}
    created = client.post("/v1/events", params={"unknown_items": "create"}, json=batch)
    assert created.json() == {"accepted": 1, "duplicates": 1, "skipped": 0, "created": 1}
    assert client.get("/v1/items/zz").json()["id"] == "zz"
    single = client.post("/v1/events", params={"unknown_items": "skip"}, json=event("yy"))
    assert single.json()["skipped"] == 1 and engine.seen("u1") == ["space1", "zz"]


def test_a_bad_policy_is_422_naming_it(client: TestClient, engine: Engine) -> None:
    r = client.post("/v1/events", params={"unknown_items": "insert"}, json=event("space1"))
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "unknown_items"
    assert engine.stats()["events"] == 0


def test_rating_errors_name_the_record_and_field(client: TestClient) -> None:
    one = client.post("/v1/events", json=event("space1", type="rating", value=0.5))
    assert one.status_code == 422
    assert one.json()["error"] == {
        "code": "invalid_input",
        "message": "a rating value must be from 1 to 5",
        "field": "value",
    }
    batch = [event("space1")] * 3 + [event("space2", type="rating", value=0.5)]
    many = client.post("/v1/events", json=batch)
    assert many.json()["error"]["field"] == "events[3].value"


def test_the_engine_settings_decide(tmp_path: Path) -> None:
    """Recording follows the engine's settings: `LIKEWISE_RATING_MIN=0.5` and
    `LIKEWISE_UNKNOWN_ITEMS=create` accept MovieLens' half stars on items not yet stored."""
    settings = Settings(rating_min=0.5, unknown_items="create")
    with (
        Engine.open(str(tmp_path / "d"), model="hashing-64", settings=settings) as engine,
        TestClient(create_app(settings, engine=engine)) as client,
    ):
        r = client.post("/v1/events", json=event("new1", type="rating", value=0.5))
        assert r.json() == {"accepted": 1, "duplicates": 0, "skipped": 0, "created": 1}
        assert engine.ids() == ["new1"] and engine.profile("u1")["events"] == 1
