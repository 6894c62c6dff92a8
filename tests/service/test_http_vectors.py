"""Bring your own vectors over HTTP: /v1/spaces, items' `vectors` in PUT and :batch, and
POST /v1/search with a vector; every refusal a 4xx naming its field, with nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.service.conftest import READ, WRITE, auth

from likewise import Engine


def _spaces(client: TestClient) -> dict[str, Any]:
    return {s["name"]: s for s in client.get("/v1/spaces").json()["spaces"]}


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    field: str = response.json()["error"]["field"]
    return field


def test_a_space_is_declared_once(client: TestClient, engine: Engine) -> None:
    assert _spaces(client) == {"text": {"name": "text", "dim": 64, "metric": "cosine"}}
    made = client.put("/v1/spaces/img", json={"dim": 3})
    assert (made.status_code, made.json()) == (201, {"name": "img", "dim": 3, "metric": "cosine"})
    again = client.put("/v1/spaces/img", json={"dim": 3, "metric": "cosine"})
    assert again.status_code == 200
    assert _error(client.put("/v1/spaces/img", json={"dim": 4}), 409) is None
    assert client.put("/v1/spaces/img", json={"dim": 3, "metric": "dot"}).status_code == 409
    assert client.put("/v1/spaces/text", json={"dim": 64}).status_code == 200  # the model's
    assert client.put("/v1/spaces/text", json={"dim": 8}).status_code == 409
    assert engine.spaces()["img"].dim == 3 and engine.spaces()["img"].metric == "cosine"
    assert list(_spaces(client)) == ["text", "img"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        pytest.param("/v1/spaces/Img", {"dim": 3}, "space", id="upper-case-name"),
        pytest.param("/v1/spaces/9lives", {"dim": 3}, "space", id="digit-first"),
        pytest.param("/v1/spaces/img", {"dim": 0}, "dim", id="dim-zero"),
        pytest.param("/v1/spaces/img", {"dim": 2001}, "dim", id="dim-past-pgvector"),
        pytest.param("/v1/spaces/img", {"dim": "3"}, "dim", id="dim-text"),
        pytest.param("/v1/spaces/img", {"dim": 3, "metric": "l1"}, "metric", id="metric"),
        pytest.param("/v1/spaces/img", {"dim": 3, "size": 1}, "size", id="unknown-key"),
    ],
)
def test_a_bad_space_is_refused_by_field(
    client: TestClient, engine: Engine, path: str, body: Any, field: str
) -> None:
    assert _error(client.put(path, json=body), 422) == field
    assert list(engine.spaces()) == ["text"]


def test_declaring_a_space_needs_a_write_key(secured: TestClient, engine: Engine) -> None:
    assert secured.get("/v1/spaces", headers=auth(READ)).status_code == 200
    assert secured.put("/v1/spaces/img", json={"dim": 3}, headers=auth(READ)).status_code == 403
    assert secured.put("/v1/spaces/img", json={"dim": 3}, headers=auth(WRITE)).status_code == 201
    assert "img" in engine.spaces()


@pytest.fixture
def spaced(client: TestClient) -> TestClient:
    assert client.put("/v1/spaces/img", json={"dim": 3}).status_code == 201
    assert client.put("/v1/spaces/emb", json={"dim": 2, "metric": "dot"}).status_code == 201
    return client


def test_items_carry_vectors_in_put_and_batch(spaced: TestClient, engine: Engine) -> None:
    put = spaced.put("/v1/items/r1", json={"title": "red", "vectors": {"img": [2, 0, 0]}})
    assert put.status_code == 201
    batch = [
        {"id": "g1", "title": "green", "vectors": {"img": [0, 1, 0], "emb": [0.5, 1]}},
        {"id": "b1", "title": "blue", "vectors": {"img": [0, 0.1, 1]}},
    ]
    assert spaced.post("/v1/items:batch", json=batch).json()["new"] == 2
    lines = json.dumps({"id": "n1", "title": "nd", "vectors": {"emb": [3, 4]}}) + "\n"
    nd = spaced.post(
        "/v1/items:batch", content=lines, headers={"content-type": "application/x-ndjson"}
    )
    assert nd.status_code == 200 and nd.json()["new"] == 1
    img = engine.vectors(["r1", "g1", "b1"], space="img")
    assert img["r1"].tolist() == pytest.approx([1.0, 0.0, 0.0])  # cosine: unit length
    assert engine.vectors(["g1", "n1"], space="emb")["n1"].tolist() == pytest.approx([3, 4])
    assert "vectors" not in spaced.get("/v1/items/r1").json()  # stored in their spaces
    # A PUT without vectors keeps them; one with a new vector is an update.
    same = spaced.put("/v1/items/r1", json={"title": "red"})
    assert same.json()["status"] == "unchanged"
    assert engine.vectors(["r1"], space="img")["r1"].tolist() == pytest.approx([1, 0, 0])
    moved = spaced.put("/v1/items/r1", json={"title": "red", "vectors": {"img": [0, 0, 1]}})
    assert moved.json()["status"] == "updated"
    assert engine.vectors(["r1"], space="img")["r1"].tolist() == pytest.approx([0, 0, 1])


BAD_VECTORS = [
    pytest.param({"img": [1, 2]}, "vectors.img", id="short"),
    pytest.param({"img": [1, "x", 0]}, "vectors.img", id="not-a-number"),
    pytest.param({"img": [1, True, 0]}, "vectors.img", id="bool"),
    pytest.param({"img": [1e30, 0, 0]}, "vectors.img", id="huge"),
    pytest.param({"photo": [1, 0, 0]}, "vectors.photo", id="unknown-space"),
    pytest.param({"text": [0.1] * 64}, "vectors.text", id="text-space"),
    pytest.param("img", "vectors", id="not-an-object"),
]


@pytest.mark.parametrize(("vectors", "field"), BAD_VECTORS)
def test_bad_vectors_are_refused_by_field(
    spaced: TestClient, engine: Engine, vectors: Any, field: str
) -> None:
    one = spaced.put("/v1/items/x1", json={"title": "x", "vectors": vectors})
    assert _error(one, 422) == field
    batch = [{"id": "x2", "title": "fine"}, {"id": "x3", "title": "x", "vectors": vectors}]
    assert _error(spaced.post("/v1/items:batch", json=batch), 422) == f"items[1].{field}"
    assert engine.count() == 4  # the catalog of the fixture, nothing more


def test_nan_and_infinity_in_a_json_body_are_refused(spaced: TestClient, engine: Engine) -> None:
    # Python's JSON reader takes these literals; they are no numbers a space can hold.
    for literal in ("NaN", "Infinity", "-Infinity"):
        body = '{"title": "x", "vectors": {"img": [' + literal + ", 0, 0]}}"
        response = spaced.put(
            "/v1/items/x1", content=body, headers={"content-type": "application/json"}
        )
        assert _error(response, 422) == "vectors.img", literal
    assert engine.count() == 4


def test_vectors_count_toward_the_body_limit(spaced: TestClient, engine: Engine) -> None:
    big = {"title": "x", "vectors": {"img": [0.123456789] * 10_000}}  # over 50,000 bytes
    assert spaced.put("/v1/items/x1", json=big).status_code == 413
    assert engine.count() == 4


def test_search_takes_a_vector_of_a_space(spaced: TestClient, engine: Engine) -> None:
    spaced.post(
        "/v1/items:batch",
        json=[
            {"id": "r1", "title": "red", "vectors": {"img": [1, 0, 0]}},
            {"id": "g1", "title": "green", "vectors": {"img": [0, 1, 0]}},
        ],
    )
    found = spaced.post("/v1/search", json={"vector": [0.1, 1, 0], "space": "img", "n": 2})
    assert found.status_code == 200, found.text
    assert [h["id"] for h in found.json()["items"]] == ["g1", "r1"]
    # With no space, the text space: the model's own vector of an item finds it first.
    text = engine.vectors(["food1"])["food1"].tolist()
    plain = spaced.post("/v1/search", json={"vector": text, "n": 1})
    assert [h["id"] for h in plain.json()["items"]] == ["food1"]
    logged = spaced.post("/v1/search", json={"vector": text, "user_id": "u1"})
    assert logged.json()["recommendation_id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"text": "moon", "vector": [1, 0, 0]}, "text", id="both"),
        pytest.param({"n": 3}, "text", id="neither"),
        pytest.param({"text": "moon", "space": "img"}, "space", id="space-with-text"),
        pytest.param({"vector": [1, 0], "space": "img"}, "vector", id="wrong-dim"),
        pytest.param({"vector": [0, 0, 0], "space": "img"}, "vector", id="zero-in-cosine"),
        pytest.param({"vector": [1e9, 0, 0], "space": "img"}, "vector", id="huge"),
        pytest.param({"vector": [1, 0, 0], "space": "photo"}, "space", id="unknown-space"),
        pytest.param({"vector": ["1", 0, 0], "space": "img"}, "vector[0]", id="text-number"),
    ],
)
def test_a_bad_search_is_refused_by_field(spaced: TestClient, body: Any, field: str) -> None:
    assert _error(spaced.post("/v1/search", json=body), 422) == field


def test_the_document_states_each_spaces_dimension(spaced: TestClient) -> None:
    document = spaced.get("/openapi.json").json()
    forms = document["components"]["schemas"]["SearchIn"]["anyOf"]
    dims = {
        f["properties"].get("space", {}).get("const", "text"): f["properties"]["vector"]["minItems"]
        for f in forms
        if "vector" in f["required"]
    }
    assert dims == {"text": 64, "img": 3, "emb": 2}
    assert "/v1/spaces/{space}" in document["paths"]
