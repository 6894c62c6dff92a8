"""/v1/reports/ctr: impressions tied to clicks, conversions and dwell."""

from __future__ import annotations

from fastapi.testclient import TestClient

from likewise.tracking import wilson


def show(client: TestClient, user: str, **params: object) -> str:
    r = client.get(f"/v1/users/{user}/recommendations", params={"n": 2, **params})
    return str(r.json()["recommendation_id"])


def test_ctr_by_strategy(client: TestClient) -> None:
    client.post("/v1/events", json={"user_id": "seed", "item_id": "food1", "type": "like"})
    lists = [show(client, f"u{k}", context='{"device": "mobile"}') for k in range(4)]
    for k, rid in enumerate(lists[:3]):  # three of four popular lists clicked
        client.post(
            "/v1/events",
            json={
                "user_id": f"u{k}",
                "item_id": "food1",
                "type": "click",
                "recommendation_id": rid,
            },
        )
    events = [
        {"user_id": "u0", "item_id": "food1", "type": "click", "recommendation_id": lists[0]},
        {"user_id": "u0", "item_id": "food1", "type": "purchase", "recommendation_id": lists[0]},
        {
            "user_id": "u0",
            "item_id": "food1",
            "type": "dwell",
            "value": 40,
            "recommendation_id": lists[0],
        },
        {
            "user_id": "u1",
            "item_id": "food1",
            "type": "dwell",
            "value": 20,
            "recommendation_id": lists[1],
        },
    ]
    client.post("/v1/events", json=events)
    personal = show(client, "u0", strategy="ema")  # u0 now has a profile
    assert personal
    report = client.get("/v1/reports/ctr").json()
    rows = {row["group"]: row for row in report["rows"]}
    popular = rows["popular"]
    assert (popular["impressions"], popular["clicks"], popular["conversions"]) == (4, 3, 1)
    assert popular["ctr"] == 0.75 and popular["mean_dwell"] == 30.0
    assert popular["ctr_ci95"] == list(wilson(3, 4))
    assert rows["ema"]["impressions"] == 1 and rows["ema"]["clicks"] == 0
    by_day = client.get("/v1/reports/ctr", params={"group_by": "day"}).json()
    assert sum(r["impressions"] for r in by_day["rows"]) == 5
    later = client.get("/v1/reports/ctr", params={"since": "2999-01-01"}).json()
    assert later["rows"] == []
    bad = client.get("/v1/reports/ctr", params={"since": "soon"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "since"


def test_activity_reports_event_volume_latency_and_coverage(client: TestClient) -> None:
    client.post("/v1/events", json={"user_id": "seed", "item_id": "food1", "type": "like"})
    client.post(
        "/v1/events",
        json={"user_id": "seed", "item_id": "food2", "type": "click", "timestamp": 1_700_000_000},
    )
    for k in range(3):
        show(client, f"u{k}")
    show(client, "seed", strategy="ema")
    report = client.get("/v1/reports/activity").json()
    volume = {(row["day"], row["type"]): row["count"] for row in report["events"]}
    assert volume[("2023-11-14", "click")] == 1 and sum(volume.values()) == 2
    latency = report["latency_ms"]
    assert latency["count"] == 4 and 0 < latency["p50"] <= latency["p90"] <= latency["p99"]
    assert set(latency["by_strategy"]) == {"popular", "ema"}
    assert latency["by_strategy"]["ema"]["count"] == 1
    coverage = report["coverage"]
    catalog = client.get("/v1/stats").json()["items"]
    assert coverage["catalog"] == catalog and 2 <= coverage["items_shown"] <= catalog
    assert coverage["share"] == coverage["items_shown"] / catalog
    later = client.get("/v1/reports/activity", params={"since": "2999-01-01"}).json()
    assert later["events"] == [] and later["latency_ms"]["p50"] is None
    assert later["coverage"]["items_shown"] == 0
    bad = client.get("/v1/reports/activity", params={"since": "soon"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "since"


def test_related_and_search_lists_are_tracked_for_a_user(client: TestClient) -> None:
    untracked = client.get("/v1/items/food1/similar", params={"n": 2}).json()
    assert untracked.get("recommendation_id") is None
    related = client.get("/v1/items/food1/similar", params={"n": 2, "user_id": "ann"}).json()
    found = client.post("/v1/search", json={"text": "pasta", "n": 3, "user_id": "ann"}).json()
    assert len(found["items"]) == 3
    for rid, listed in (
        (related["recommendation_id"], related),
        (found["recommendation_id"], found),
    ):
        click = {"user_id": "ann", "item_id": listed["items"][0]["id"], "type": "click"}
        assert client.post("/v1/events", json={**click, "recommendation_id": rid}).status_code < 300
    rows = {r["group"]: r for r in client.get("/v1/reports/ctr").json()["rows"]}
    assert (rows["related"]["impressions"], rows["related"]["clicks"]) == (1, 1)
    assert (rows["search"]["impressions"], rows["search"]["clicks"]) == (1, 1)
    activity = client.get("/v1/reports/activity").json()
    assert set(activity["latency_ms"]["by_strategy"]) == {"related", "search"}
    bad = client.get("/v1/items/food1/similar", params={"user_id": " "})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "user_id"
    bad = client.post("/v1/search", json={"text": "pasta", "user_id": ""})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "user_id"
