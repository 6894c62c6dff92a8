"""The events key is the one pages publish: it may read and record events, nothing else
(README, "Keys"). `?unknown_items=create` made every event on an unknown id a new catalog
item, so anyone with the page's key could write to the catalog."""

from __future__ import annotations

from fastapi.testclient import TestClient

from likewise import Engine, Settings
from likewise.service import create_app

PAGE, ADMIN = {"Authorization": "Bearer page"}, {"Authorization": "Bearer admin"}
GHOST = {"user_id": "u1", "item_id": "ghost", "type": "click"}


def test_an_events_key_creates_no_item(engine: Engine) -> None:
    settings = Settings(event_keys=["page"], write_keys=["admin"])
    with TestClient(create_app(settings, engine=engine)) as client:
        for body in (GHOST, [GHOST]):
            refused = client.post("/v1/events?unknown_items=create", json=body, headers=PAGE)
            assert refused.status_code == 403, refused.text
            assert "write key" in refused.json()["error"]["message"]
        assert (engine.count(), engine.stats()["events"]) == (4, 0)
        skipped = client.post("/v1/events?unknown_items=skip", json=GHOST, headers=PAGE)
        assert skipped.json()["skipped"] == 1  # leaving an event out writes nothing
        made = client.post("/v1/events?unknown_items=create", json=GHOST, headers=ADMIN)
        assert made.json()["created"] == 1 and engine.count() == 5
