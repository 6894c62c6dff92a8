"""What the OpenAPI document says of bounds is what the server does: a page past the end of a
list, and the rating scale the settings give (moved from test_openapi.py, at 400 lines)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from likewise import Settings
from likewise.service import create_app


def test_a_page_past_the_end_of_the_list_is_served_short(client: TestClient) -> None:
    url = "/v1/users/u1/recommendations"
    assert client.get(url, params={"offset": 9_999, "n": 10}).status_code == 200
    assert client.get(url, params={"offset": 10_000}).status_code == 422
    bad = client.get("/v1/users/u1/events", params={"cursor": ""})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "cursor"


def test_the_documented_rating_scale_is_the_servers() -> None:
    document = create_app(Settings(rating_min=0.5, rating_dislike=1.5)).openapi()
    rules = document["components"]["schemas"]["Event"]["allOf"]
    (rating,) = [r for r in rules if r["if"]["properties"]["type"]["const"] == "rating"]
    value = rating["then"]["properties"]["value"]
    assert (value["minimum"], value["maximum"]) == (0.5, 5.0)
