"""/v1/items and /v1/search."""

from __future__ import annotations

from fastapi.testclient import TestClient

from likewise import Engine


def test_put_get_delete(client: TestClient, engine: Engine) -> None:
    put = client.put("/v1/items/n1", json={"title": "New moon mission", "category": "news"})
    assert (put.status_code, put.json()) == (201, {"id": "n1", "status": "created"})
    again = client.put("/v1/items/n1", json={"title": "New moon mission", "category": "news"})
    assert again.json()["status"] == "unchanged" and again.status_code == 200
    changed = client.put("/v1/items/n1", json={"title": "New moon mission", "category": "blog"})
    assert changed.json()["status"] == "updated"
    assert client.get("/v1/items/n1").json()["category"] == "blog"
    assert client.delete("/v1/items/n1").status_code == 204
    gone = client.get("/v1/items/n1")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    assert client.delete("/v1/items/n1").status_code == 404
    assert engine.count() == 4


def test_put_refuses_a_different_id_in_the_body(client: TestClient, engine: Engine) -> None:
    r = client.put("/v1/items/n1", json={"id": "other", "title": "x"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "id"
    bad = client.put("/v1/items/n1", json={"title": "x", "tags": "oops"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "tags"  # one item: its field
    assert engine.count() == 4


def test_batch_json_and_ndjson_all_or_nothing(client: TestClient, engine: Engine) -> None:
    r = client.post(
        "/v1/items:batch", json=[{"id": "b1", "title": "one"}, {"id": "b2", "title": "two"}]
    )
    assert r.status_code == 200 and r.json()["new"] == 2
    lines = '{"id": "b3", "title": "three"}\n\n{"id": "b4", "title": "four"}\n'
    nd = client.post(
        "/v1/items:batch", content=lines, headers={"content-type": "application/x-ndjson"}
    )
    assert nd.json()["new"] == 2
    bad = client.post("/v1/items:batch", json=[{"id": "b5"}, {"id": "b6", "tags": 3}])
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "items[1].tags"
    bad_line = client.post(
        "/v1/items:batch",
        content='{"id": "b7"}\n{oops\n',
        headers={"content-type": "application/x-ndjson"},
    )
    assert bad_line.status_code == 422 and "line 2" in bad_line.json()["error"]["message"]
    not_list = client.post("/v1/items:batch", json={"id": "b8"})
    assert not_list.status_code == 422 and not_list.json()["error"]["field"] == "body"
    assert engine.count() == 8


def test_similar_and_search(client: TestClient) -> None:
    r = client.get("/v1/items/space1/similar", params={"n": 1})
    assert r.json()["items"][0]["id"] == "space2"
    filtered = client.get(
        "/v1/items/space1/similar",
        params={"where": '{"category": "recipes"}', "exclude": ["food1"]},
    )
    assert [h["id"] for h in filtered.json()["items"]] == ["food2"]
    bad = client.get("/v1/items/space1/similar", params={"where": '{"n": {"gt": "x"}}'})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "where.n.gt"
    found = client.post("/v1/search", json={"text": "tomato pasta", "n": 2})
    assert {h["id"] for h in found.json()["items"]} == {"food1", "food2"}
    empty = client.post("/v1/search", json={"text": ""})
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "text"
