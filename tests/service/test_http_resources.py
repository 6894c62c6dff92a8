"""One resource model (the same shapes as Python and the CLI), strict parameters, paging,
thresholds and the sources of related items."""

from __future__ import annotations

from fastapi.testclient import TestClient

from likewise import Engine

LIKES = [
    {"user_id": u, "item_id": i, "type": "like"}
    for u, items in {"u1": ["space1", "space2"], "u2": ["space1", "space2", "food1"]}.items()
    for i in items
]


def test_an_unknown_query_parameter_is_named_not_ignored(client: TestClient) -> None:
    for path in ("/v1/users/u1/recommendations", "/v1/items/space1/similar", "/v1/items/space1"):
        bad = client.get(path, params={"exlude": "space2"})
        assert bad.status_code == 422, path
        error = bad.json()["error"]
        assert error["field"] == "exlude" and "this operation takes" in error["message"]
    assert client.get("/v1/items/space1/similar", params={"n": 1}).status_code == 200


def test_recommendations_have_the_shape_python_gives(client: TestClient, engine: Engine) -> None:
    client.post("/v1/events", json=LIKES)
    body = client.get("/v1/users/u1/recommendations", params={"n": 2}).json()
    rec = engine.recommend("u1", n=2, track=False)
    assert (
        set(body)
        == set(rec.as_dict())
        == {
            "recommendation_id",
            "user_id",
            "strategy",
            "variant",
            "cached",
            "items",
        }
    )
    assert [i["id"] for i in body["items"]] == [i["id"] for i in rec.as_dict()["items"]]


def test_popular_is_a_strategy_one_may_ask_for(client: TestClient) -> None:
    client.post("/v1/events", json=LIKES)
    body = client.get("/v1/users/u1/recommendations", params={"strategy": "popular"}).json()
    assert body["strategy"] == "popular"
    # u1 has seen both space items; food1 is the most liked of the rest.
    assert [i["id"] for i in body["items"]][:1] == ["food1"]


def test_exclude_offset_and_min_score_on_recommendations(client: TestClient) -> None:
    client.post("/v1/events", json=LIKES[:1])
    url = "/v1/users/u1/recommendations"
    whole = client.get(url, params={"n": 3, "strategy": "mean"}).json()["items"]
    ids = [i["id"] for i in whole]
    assert len(ids) == 3
    page = client.get(url, params={"n": 2, "offset": 1, "strategy": "mean"}).json()["items"]
    assert [i["id"] for i in page] == ids[1:] and [i["position"] for i in page] == [2, 3]
    left = client.get(url, params=[("n", "3"), ("exclude", ids[0]), ("exclude", ids[1])]).json()
    assert ids[0] not in [i["id"] for i in left["items"]]
    assert ids[1] not in [i["id"] for i in left["items"]]
    bar = whole[1]["score"]
    short = client.get(url, params={"n": 3, "min_score": bar, "strategy": "mean"}).json()
    assert [i["id"] for i in short["items"]] == ids[:2]
    for params, field in (({"offset": -1}, "offset"), ({"min_score": "nan"}, "min_score")):
        bad = client.get(url, params=params)
        assert bad.status_code == 422 and bad.json()["error"]["field"] == field


def test_related_items_by_source(client: TestClient, engine: Engine) -> None:
    url = "/v1/items/space1/similar"
    before = client.get(url, params={"source": "collaborative"})
    assert before.status_code == 422 and before.json()["error"]["field"] == "source"
    client.post("/v1/events", json=LIKES)
    engine.train()
    collab = client.get(url, params={"source": "collaborative"}).json()["items"]
    assert [h["id"] for h in collab][:1] == ["space2"] and "space1" not in [h["id"] for h in collab]
    news = client.get(url, params={"source": "collaborative", "where": '{"category": "recipes"}'})
    assert [h["id"] for h in news.json()["items"]] == ["food1"]
    content = client.get(url, params={"source": "content", "n": 3}).json()["items"]
    assert len(content) == 3
    bar = content[0]["score"]
    short = client.get(url, params={"source": "content", "n": 3, "min_score": bar}).json()
    assert [h["id"] for h in short["items"]] == [content[0]["id"]]
    bad = client.get(url, params={"source": "nope"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "source"


def test_search_min_score(client: TestClient) -> None:
    hits = client.post("/v1/search", json={"text": "tomato pasta", "n": 4}).json()["items"]
    bar = hits[1]["score"]
    short = client.post("/v1/search", json={"text": "tomato pasta", "n": 4, "min_score": bar})
    assert [h["id"] for h in short.json()["items"]] == [h["id"] for h in hits[:2]]
