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
    twice = client.get("/v1/items/space1/similar", params=[("n", "1"), ("n", "2")])
    assert twice.status_code == 422 and twice.json()["error"]["field"] == "n"
    many = [("exclude", "space2"), ("exclude", "food1")]
    assert client.get("/v1/items/space1/similar", params=many).status_code == 200
    assert client.get("/v1/users/u1/recommendations", params=many).status_code == 200
    nameless = client.get("/v1/users/u1/events?=x")  # schemathesis found a 422 naming ''
    assert nameless.status_code == 422 and nameless.json()["error"]["field"] == "query"
    assert "no name" in nameless.json()["error"]["message"]


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
    for source in ("collaborative", "behaviour"):  # valid, not servable before `train`
        before = client.get(url, params={"source": source})
        assert before.status_code == 409 and before.json()["error"]["field"] == "source"
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


def test_the_catalog_in_pages(client: TestClient) -> None:
    first = client.get("/v1/items", params={"limit": 3}).json()
    assert [i["id"] for i in first["items"]] == ["food1", "food2", "space1"]
    assert first["items"][0]["category"] == "recipes"  # each item as GET /v1/items/{id} gives
    rest = client.get("/v1/items", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [i["id"] for i in rest["items"]] == ["space2"] and rest["next_cursor"] is None
    news = client.get("/v1/items", params={"limit": 1, "where": '{"category": "news"}'}).json()
    assert [i["id"] for i in news["items"]] == ["space1"]
    more = client.get(
        "/v1/items", params={"limit": 1, "where": '{"category": "news"}', "cursor": "space1"}
    ).json()
    assert [i["id"] for i in more["items"]] == ["space2"]
    bad = client.get("/v1/items", params={"limit": 0})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "limit"


def test_popular_and_latest_with_filters(client: TestClient, engine: Engine) -> None:
    client.post("/v1/events", json=LIKES)
    popular = client.get("/v1/popular", params={"n": 2}).json()["items"]
    assert [h["id"] for h in popular] == ["space1", "space2"] and popular[0]["score"] == 2.0
    recipes = client.get("/v1/popular", params={"where": '{"category": "recipes"}'}).json()
    assert [h["id"] for h in recipes["items"]] == ["food1", "food2"]
    engine.add_items([{"id": "space3", "title": "Mars rover", "category": "news"}])
    latest = client.get("/v1/latest", params={"n": 2}).json()["items"]
    assert [h["id"] for h in latest] == ["space3", "food2"]
    news = client.get(
        "/v1/latest", params=[("where", '{"category": "news"}'), ("exclude", "space3")]
    )
    assert [h["id"] for h in news.json()["items"]] == ["space2", "space1"]


def test_reading_and_deleting_a_users_events(client: TestClient, engine: Engine) -> None:
    client.post("/v1/events", json=LIKES)
    page = client.get("/v1/users/u2/events", params={"limit": 2}).json()
    assert [e["item_id"] for e in page["events"]] == ["food1", "space2"]
    assert page["events"][0]["type"] == "like" and page["next_cursor"]
    older = client.get("/v1/users/u2/events", params={"cursor": page["next_cursor"]}).json()
    assert [e["item_id"] for e in older["events"]] == ["space1"] and older["next_cursor"] is None
    shown = client.get("/v1/users/u2/recommendations").json()
    gone = client.delete("/v1/users/u2/events").json()
    assert gone["deleted"]["events"] == 3
    assert client.get("/v1/users/u2/events").json() == {"events": [], "next_cursor": None}
    assert client.get("/v1/users/u2/profile").json()["events"] == 0
    assert engine.seen("u2") == []
    engine.close()  # writes the impressions
    assert shown["recommendation_id"]


def test_recommend_from_given_items_for_no_stored_user(client: TestClient, engine: Engine) -> None:
    body = client.post("/v1/recommend", json={"positive": ["space1"], "n": 2}).json()
    assert body["user_id"] is None and body["strategy"] == "average_vector"
    assert [i["id"] for i in body["items"]][:1] == ["space2"]  # never a given item
    assert body["items"][0]["because"] == "space1"
    away = client.post(
        "/v1/recommend",
        json={"positive": ["space1"], "negative": ["space2"], "strategy": "best_score", "n": 3},
    ).json()["items"]
    assert "space2" not in [i["id"] for i in away] and away[0]["score"] >= away[-1]["score"]
    vector = engine.vectors(["food1"])["food1"].tolist()
    near = client.post(
        "/v1/recommend",
        json={"positive": [vector], "exclude": ["food1"], "n": 1, "user_id": "s-1"},
    ).json()
    assert [i["id"] for i in near["items"]] == ["food2"] and near["user_id"] == "s-1"
    news = client.post(
        "/v1/recommend", json={"positive": ["food1"], "where": {"category": "news"}}
    ).json()
    assert {i["id"] for i in news["items"]} == {"space1", "space2"}
    client.post("/v1/events", json=LIKES)
    engine.train()
    blend = client.post("/v1/recommend", json={"positive": ["space1"], "strategy": "hybrid"})
    assert blend.json()["strategy"] == "hybrid" and blend.json()["items"]
    for payload, field in (
        ({"positive": []}, "positive"),
        ({"positive": ["space1"], "negative": ["space2", [1.0, 2.0]]}, "negative[1]"),
        ({"positive": [["x"] * 64]}, "positive[0]"),
        ({"positive": ["space1", 3]}, "positive[1]"),
        ({"positive": ["space1"], "strategy": "mean"}, "strategy"),
        ({"positive": ["space1"], "nope": 1}, "nope"),
    ):
        bad = client.post("/v1/recommend", json=payload)
        assert bad.status_code == 422, payload
        assert bad.json()["error"]["field"] == field, (payload, bad.json())
    for payload, field in (
        ({"positive": ["nope"]}, "positive[0]"),
        ({"positive": ["space1"], "negative": ["space2", "gone"]}, "negative[1]"),
    ):
        missing = client.post("/v1/recommend", json=payload)
        assert missing.status_code == 404, payload
        assert missing.json()["error"]["field"] == field, (payload, missing.json())


def test_a_list_of_ones_own_is_tracked(client: TestClient, engine: Engine) -> None:
    shown = {"user_id": "u1", "strategy": "editors-picks", "items": ["food1", "space1"]}
    rec_id = client.post("/v1/impressions", json=shown).json()["recommendation_id"]
    click = {"user_id": "u1", "item_id": "food1", "type": "click", "recommendation_id": rec_id}
    client.post("/v1/events", json=click)
    engine.tracker.impressions.flush()
    (row,) = [r for r in engine.ctr_report() if r.group == "editors-picks"]
    assert (row.impressions, row.clicks) == (1, 1)
    bad = client.post("/v1/impressions", json={**shown, "strategy": "Bad Name"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "strategy"


def test_metadata_beyond_64_bits_lists_like_it_reads(client: TestClient) -> None:
    client.put("/v1/items/big", json={"title": "big", "serial": 2**70})
    one = client.get("/v1/items/big").json()
    (listed,) = [i for i in client.get("/v1/items").json()["items"] if i["id"] == "big"]
    assert listed == one and listed["serial"] == 2**70


def test_a_made_up_recommendation_id_is_refused_not_ignored(client: TestClient) -> None:
    event = {"user_id": "u1", "item_id": "space1", "type": "click", "recommendation_id": "abc"}
    bad = client.post("/v1/events", json=event)
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "recommendation_id"
    issued = client.get("/v1/users/u1/recommendations").json()["recommendation_id"]
    ok = client.post("/v1/events", json={**event, "recommendation_id": issued})
    assert ok.status_code == 200 and ok.json()["accepted"] == 1


def test_a_time_the_reports_cannot_place_is_refused(client: TestClient) -> None:
    for moment in (1e20, -1e15, "9999-12-31T23:59:59-01:00"):
        event = {"user_id": "u1", "item_id": "space1", "type": "click", "timestamp": moment}
        bad = client.post("/v1/events", json=event)
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "timestamp", moment
    old = {"user_id": "u1", "item_id": "space1", "type": "click", "timestamp": "0001-01-01"}
    assert client.post("/v1/events", json=old).status_code == 200
    assert client.get("/v1/reports/activity").status_code == 200


def test_parameters_that_would_change_nothing_are_refused(client: TestClient) -> None:
    client.post("/v1/events", json=LIKES)
    url = "/v1/users/u1/recommendations"
    for params, field in (
        ({"strategy": "ema", "weights": '{"content": 1}'}, "weights"),
        ({"strategy": "dislike", "diversity": "0.5"}, "diversity"),
        ({"strategy": "popular", "space": "behaviour"}, "space"),
        ({"strategy": "hybrid", "weights": '{"content": 0}'}, "weights"),
    ):
        bad = client.get(url, params=params)
        assert bad.status_code == 422, params
        assert bad.json()["error"]["field"] == field, bad.json()
    blend = client.get(url, params={"diversity": "0.5"}).json()  # asks for the hybrid
    assert blend["strategy"] == "hybrid"
