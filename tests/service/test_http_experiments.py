"""/v1/experiments over the real app: create, serve variants, report, stop and promote."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.service.conftest import READ, WRITE, auth


def test_experiment_lifecycle_over_http(client: TestClient) -> None:
    body = {"name": "home", "variants": ["a:strategy=ema", "b:strategy=mean"], "split": "50/50"}
    created = client.post("/v1/experiments", json=body)
    assert created.status_code == 201 and created.json()["running"] is True
    again = client.post("/v1/experiments", json={**body, "name": "other"})
    assert again.status_code == 409 and again.json()["error"]["field"] == "name"
    variants = {}
    for k in range(30):
        user = f"u{k}"
        client.post("/v1/events", json={"user_id": user, "item_id": "space1", "type": "like"})
        rec = client.get(f"/v1/users/{user}/recommendations", params={"n": 2}).json()
        variants[user] = rec["variant"]
        if rec["variant"] == "home:b":
            event = {
                "user_id": user,
                "item_id": rec["items"][0]["id"],
                "type": "click",
                "recommendation_id": rec["recommendation_id"],
            }
            assert client.post("/v1/events", json=event).status_code == 200
    assert set(variants.values()) == {"home:a", "home:b"}
    # the same user gets the same variant again
    assert all(
        client.get(f"/v1/users/{u}/recommendations").json()["variant"] == v
        for u, v in list(variants.items())[:5]
    )
    report = client.get("/v1/experiments/home").json()
    rows = {r["variant"]: r for r in report["variants"]}
    assert rows["b"]["clicks"] == sum(v == "home:b" for v in variants.values())
    assert rows["a"]["clicks"] == 0 and report["comparisons"][0]["variant"] == "b"
    by_day = client.get("/v1/reports/ctr", params={"group_by": "day,strategy"}).json()
    assert any(r["group"].endswith(" home:b") for r in by_day["rows"])
    assert client.get("/v1/experiments/nothing").status_code == 404
    bad = client.post("/v1/experiments/home/stop", json={"promote": "zzz"})
    assert bad.status_code == 404 and bad.json()["error"]["field"] == "promote"
    empty = client.post("/v1/experiments/home/stop", json={"promote": ""})
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "promote"
    assert [e["running"] for e in client.get("/v1/experiments").json()] == [True]
    stopped = client.post("/v1/experiments/home/stop", json={"promote": "b"}).json()
    assert stopped["running"] is False and stopped["winner"] == "b"
    after = client.get("/v1/users/u0/recommendations").json()
    assert after["variant"] is None and after["strategy"] == "mean"
    listed = client.get("/v1/experiments").json()
    assert [e["name"] for e in listed] == ["home"]


def test_bad_experiments_name_the_field(client: TestClient) -> None:
    for body, field in (
        ({"name": "Bad Name!", "variants": ["a:strategy=ema", "b:strategy=mean"]}, "name"),
        ({"name": "x", "variants": ["a:strategy=ema", "b:strategy=telepathy"]}, "variant"),
        ({"name": "x", "variants": ["a:strategy=ema", "b:strategy=mean"], "split": "1"}, "split"),
    ):
        r = client.post("/v1/experiments", json=body)
        assert r.status_code == 422 and r.json()["error"]["field"] == field, r.json()
    assert client.get("/v1/experiments").json() == []


def test_experiments_need_a_write_key_to_change(secured: TestClient) -> None:
    body = {"name": "home", "variants": ["a:strategy=ema", "b:strategy=mean"]}
    assert secured.post("/v1/experiments", json=body, headers=auth(READ)).status_code == 403
    assert secured.post("/v1/experiments", json=body, headers=auth(WRITE)).status_code == 201
    assert secured.get("/v1/experiments/home", headers=auth(READ)).status_code == 200
    stop = secured.post("/v1/experiments/home/stop", headers=auth(READ))
    assert stop.status_code == 403
