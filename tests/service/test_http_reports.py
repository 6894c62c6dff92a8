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
