"""Health, readiness, metrics, stats, errors, body limit and API keys."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from tests.service.conftest import READ, WRITE, auth


def test_health_ready_stats_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "items": 4}
    assert client.get("/v1/stats").json()["items"] == 4
    client.get("/v1/users/u1/recommendations")
    client.get("/v1/users/u1/recommendations")  # the same question: from the cache
    client.get("/v1/items/nope")
    client.post("/v1/events", json={"user_id": "u1", "item_id": "food1", "type": "like"})
    text = client.get("/metrics").text
    assert (
        'likewise_http_requests_total{method="GET",route="/v1/items/{item_id}",status="404"} 1.0'
        in text
    )
    assert 'likewise_recommendations_total{strategy="popular"} 2.0' in text
    assert 'likewise_recommendation_cache_hits_total{strategy="popular"} 1.0' in text
    assert 'likewise_cache_lookups_total{cache="recommend",outcome="hit"} 1.0' in text
    assert "likewise_events_total 1.0" in text
    route = "/v1/users/{user_id}/recommendations"
    assert f'likewise_http_request_seconds_bucket{{le="0.25",route="{route}"}} 2.0' in text


def test_metrics_follow_prometheus_conventions(client: TestClient) -> None:
    """Issue 19: a cumulative count was a gauge, lists had no strategy label, the document's
    route was `unmatched`, and there were no process metrics. Parsed by prometheus_client."""
    from prometheus_client.parser import text_string_to_metric_families

    client.get("/openapi.json")
    client.get("/nowhere")
    client.post("/v1/events", json={"user_id": "u1", "item_id": "food1", "type": "like"})
    client.get("/v1/users/u1/recommendations", params={"strategy": "ema"})
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    levels = {"likewise_feed_pending", "likewise_feed_lag_seconds"}  # levels, not counts
    for name, family in families.items():
        if name.startswith("likewise_") and name not in levels:
            assert family.type in ("counter", "histogram"), (name, family.type)
    assert {families[name].type for name in levels} == {"gauge"}
    assert families["likewise_cache_lookups"].type == "counter"
    assert {"process_cpu_seconds", "process_resident_memory_bytes"} <= set(families)
    served = families["likewise_recommendations"].samples
    assert [(s.labels, s.value) for s in served if s.name.endswith("_total")] == [
        ({"strategy": "ema"}, 1.0)
    ]
    routes = {s.labels["route"] for s in families["likewise_http_requests"].samples}
    assert {"/openapi.json", "unmatched"} <= routes  # only /nowhere is unmatched


def test_a_method_of_no_route_adds_no_metrics_series(client: TestClient) -> None:
    """A client may send any token as its method (h11 and httptools pass it on): each one
    was a `method` label of its own, a series per request at will. Any method no route
    takes is counted as `other`."""
    for method in ("FOO", "BAR1", "X" * 40):
        response = client.request(method, "/v1/popular")
        assert response.status_code == 405 and response.json()["error"]["code"]
    scrape = client.get("/metrics").text
    assert "FOO" not in scrape and "BAR1" not in scrape
    assert 'method="other",route="/v1/popular",status="405"} 3.0' in scrape


def test_one_error_shape(client: TestClient) -> None:
    for response in (
        client.get("/nowhere"),
        client.post(
            "/v1/events", content=b"{not json", headers={"content-type": "application/json"}
        ),
        client.delete("/v1/stats"),
        client.get("/v1/items/space1/similar", params={"n": "many"}),
    ):
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
        assert 400 <= response.status_code < 500
    # no media type: what to fix first (test_http_media_types.py)
    assert client.post("/v1/events", content=b"{not json").status_code == 415


def test_body_limit_is_413_and_writes_nothing(client: TestClient) -> None:
    big = [{"id": f"x{k}", "title": "t" * 100} for k in range(1000)]
    r = client.post("/v1/items:batch", json=big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    streamed = client.post(
        "/v1/items:batch",
        content=iter([b"[" + b" " * 40_000, b" " * 40_000 + b"]"]),
        headers={"content-type": "application/json"},
    )
    assert streamed.status_code == 413
    assert client.get("/v1/stats").json()["items"] == 4


def test_api_keys_and_roles(secured: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    event = {"user_id": "u1", "item_id": "food1", "type": "like"}
    assert secured.get("/healthz").status_code == 200  # probes need no key
    missing = secured.get("/v1/users/u1/recommendations")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = secured.get("/v1/users/u1/recommendations", headers=auth("nope"))
    assert wrong.status_code == 401
    assert secured.get("/v1/users/u1/recommendations", headers=auth(READ)).status_code == 200
    forbidden = secured.post("/v1/events", json=event, headers=auth(READ))
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"
    assert secured.post("/v1/events", json=event, headers=auth(WRITE)).status_code == 200
    assert secured.get("/v1/stats", headers=auth(WRITE)).json()["events"] == 1
    assert secured.delete("/v1/items/food1", headers=auth(READ)).status_code == 403
    assert READ not in caplog.text and WRITE not in caplog.text
