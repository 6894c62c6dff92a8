"""Properties and segments over HTTP: the routes, their roles, refusals naming the field,
the per-segment CTR report and an experiment restricted to a segment."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.service.conftest import READ, WRITE, auth

from likewise import Engine, Settings
from likewise.service import create_app

EVENTS = "events-key-789"


def test_properties_round_trip_and_refusals(client: TestClient) -> None:
    put = client.put("/v1/users/u1/properties", json={"plan": "premium", "age": 34})
    assert put.status_code == 200
    assert put.json() == {"user_id": "u1", "properties": {"age": 34, "plan": "premium"}}
    merged = client.put("/v1/users/u1/properties", json={"age": None, "country": "DE"})
    assert merged.json()["properties"] == {"country": "DE", "plan": "premium"}
    replaced = client.put("/v1/users/u1/properties?replace=true", json={"plan": "free"})
    assert replaced.json()["properties"] == {"plan": "free"}
    assert client.get("/v1/users/u1/properties").json()["properties"] == {"plan": "free"}
    assert client.get("/v1/users/u9/properties").json()["properties"] == {}
    for body, field in (
        ({"plan": {"tier": 1}}, "properties.plan"),
        ({"$or": "x"}, "properties.$or"),
        ({"tags": ["a"]}, "properties.tags"),
        (["plan"], "body"),
    ):
        refused = client.put("/v1/users/u1/properties", json=body)
        assert refused.status_code == 422, body
        assert refused.json()["error"]["field"] == field
    assert client.get("/v1/users/u1/properties").json()["properties"] == {"plan": "free"}


def test_segments_routes(client: TestClient) -> None:
    for user, plan in (("u1", "premium"), ("u2", "free"), ("u3", "premium")):
        client.put(f"/v1/users/{user}/properties", json={"plan": plan})
    made = client.put("/v1/segments/premium", json={"where": {"plan": "premium"}})
    assert made.status_code == 201
    assert made.json() == {"name": "premium", "where": {"plan": "premium"}, "created": True}
    again = client.put("/v1/segments/premium", json={"where": {"plan": {"in": ["premium"]}}})
    assert again.status_code == 200 and again.json()["created"] is False
    listed = client.get("/v1/segments").json()["segments"]
    assert listed == [{"name": "premium", "where": {"plan": {"in": ["premium"]}}}]
    assert client.get("/v1/users/u3/segments").json() == {"user_id": "u3", "segments": ["premium"]}
    assert client.get("/v1/users/u2/segments").json()["segments"] == []
    for name, body, field in (
        ("premium", {"where": {"plan": {"gte": "soon"}}}, "where.plan.gte"),
        ("Premium", {"where": {"plan": "x"}}, "name"),
        ("premium", {"where": [1]}, "where"),
    ):
        refused = client.put(f"/v1/segments/{name}", json=body)
        assert refused.status_code == 422 and refused.json()["error"]["field"] == field
    assert client.delete("/v1/segments/premium").status_code == 204
    missing = client.delete("/v1/segments/premium")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert client.get("/v1/segments").json()["segments"] == []


def test_the_ctr_report_by_segment_and_a_segment_experiment(client: TestClient) -> None:
    for user, plan in (("u1", "premium"), ("u2", "free")):
        client.put(f"/v1/users/{user}/properties", json={"plan": plan})
    client.put("/v1/segments/premium", json={"where": {"plan": "premium"}})
    client.put("/v1/segments/everyone", json={"where": {}})
    missing = client.post(
        "/v1/experiments",
        json={"name": "x", "variants": ["a:strategy=ema", "b:strategy=mean"], "segment": "gold"},
    )
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "segment"
    made = client.post(
        "/v1/experiments",
        json={"name": "x", "variants": ["a:strategy=ema", "b:strategy=mean"], "segment": "premium"},
    )
    assert made.status_code == 201 and made.json()["segment"] == "premium"
    shown = {}
    for user in ("u1", "u2"):
        rec = client.get(f"/v1/users/{user}/recommendations?n=2").json()
        shown[user] = rec
        client.post(
            "/v1/events",
            json={"user_id": user, "item_id": "space1", "type": "click",
                  "recommendation_id": rec["recommendation_id"]},
        )  # fmt: skip
    assert shown["u1"]["variant"] in ("x:a", "x:b") and shown["u2"]["variant"] is None
    report = client.get("/v1/reports/ctr?group_by=segment").json()
    assert report["group_by"] == "segment"
    rows = {r["group"]: (r["impressions"], r["clicks"]) for r in report["rows"]}
    assert rows == {"everyone": (2, 2), "premium": (1, 1)}
    split = client.get("/v1/reports/ctr?group_by=segment,strategy").json()["rows"]
    assert {r["group"] for r in split} == {
        f"everyone {shown['u1']['variant']}", f"everyone {shown['u2']['strategy']}",
        f"premium {shown['u1']['variant']}",
    }  # fmt: skip
    bad = client.get("/v1/reports/ctr?group_by=country")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "group_by"


def test_roles(secured: TestClient, engine: Engine) -> None:
    body = {"plan": "premium"}
    assert secured.put("/v1/users/u1/properties", json=body).status_code == 401
    assert secured.put("/v1/users/u1/properties", json=body, headers=auth(READ)).status_code == 403
    assert secured.put("/v1/users/u1/properties", json=body, headers=auth(WRITE)).status_code == 200
    assert secured.get("/v1/users/u1/properties").status_code == 401
    got = secured.get("/v1/users/u1/properties", headers=auth(READ))
    assert got.status_code == 200 and got.json()["properties"] == body
    segment = {"where": {"plan": "premium"}}
    assert secured.put("/v1/segments/p", json=segment, headers=auth(READ)).status_code == 403
    assert secured.put("/v1/segments/p", json=segment, headers=auth(WRITE)).status_code == 201
    assert secured.get("/v1/segments", headers=auth(READ)).status_code == 200
    assert secured.delete("/v1/segments/p", headers=auth(READ)).status_code == 403
    # An events key, which pages publish, reads no user's properties nor segments.
    settings = Settings(read_keys=[READ], write_keys=[WRITE], event_keys=[EVENTS])
    with TestClient(create_app(settings, engine=engine)) as paged:
        for path in ("/v1/users/u1/properties", "/v1/users/u1/segments"):
            assert paged.get(path, headers=auth(EVENTS)).status_code == 403
            assert paged.get(path, headers=auth(READ)).status_code == 200
    doc = secured.get("/openapi.json").json()
    roles = {
        (path, method): op["x-likewise-role"]
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if "segment" in path or path.endswith("/properties")
    }
    assert roles == {
        ("/v1/users/{user_id}/properties", "get"): "private",
        ("/v1/users/{user_id}/properties", "put"): "write",
        ("/v1/users/{user_id}/segments", "get"): "private",
        ("/v1/segments", "get"): "read",
        ("/v1/segments/{name}", "put"): "write",
        ("/v1/segments/{name}", "delete"): "write",
    }
