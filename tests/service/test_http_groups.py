"""POST /v1/groups/recommendations over the real app (TestClient) on the hand-built store of
tests/test_groups.py: the known winners, the members each item is for, the read key, the
impression, and refusals as 4xx bodies that name the field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.service.conftest import READ, WRITE, auth
from tests.test_groups import build

from likewise import Engine, Settings
from likewise.service import create_app

PATH = "/v1/groups/recommendations"


@pytest.fixture
def groups(tmp_path: Path) -> Iterator[tuple[TestClient, Engine]]:
    engine = build(Engine.open(str(tmp_path / "data"), model="hashing-64"))
    settings = Settings(read_keys=[READ], write_keys=[WRITE])
    with TestClient(create_app(settings, engine=engine)) as client:
        yield client, engine
    engine.close()


def post(client: TestClient, body: Any, key: str | None = READ) -> Any:
    return client.post(PATH, json=body, headers=auth(key) if key else {})


def test_a_group_list_over_http(groups: tuple[TestClient, Engine]) -> None:
    client, engine = groups
    group = {"users": ["u1", "u2"], "space": "taste", "n": 4}
    response = post(client, {**group, "strategy": "least_misery"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["strategy"] == "group:least_misery" and body["users"] == ["u1", "u2"]
    assert body["user_id"] is None
    assert [i["id"] for i in body["items"]] == ["compromise", "loved", "other", "theirs"]
    assert [i["for"] for i in body["items"]] == [["u1", "u2"], ["u1"], ["u1", "u2"], ["u2"]]
    assert [i["position"] for i in body["items"]] == [1, 2, 3, 4]
    assert body["items"][1]["reason"] == "for u1"
    fair = post(client, {**group, "n": 2, "strategy": "fair"}).json()
    assert [i["id"] for i in fair["items"]] == ["loved", "theirs"]
    default = post(client, group).json()  # average
    assert default["items"][0]["id"] == "loved"
    # Each list was logged; a click sent back with its id counts.
    click = {"user_id": "u2", "item_id": "theirs", "type": "click"}
    click["recommendation_id"] = fair["recommendation_id"]
    assert client.post("/v1/events", json=click, headers=auth(WRITE)).status_code == 200
    rows = {r.group: r for r in engine.ctr_report()}
    assert rows["group:fair"].clicks == 1 and rows["group:average"].impressions == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        pytest.param({"users": ["u1"]}, 422, "users", id="one-member"),
        pytest.param({"users": "u1"}, 422, "users", id="a-string"),
        pytest.param({"users": ["u1", "u1"]}, 422, "users[1]", id="twice"),
        pytest.param({"users": ["u1", "ghost"]}, 404, "users[1]", id="unknown"),
        pytest.param({"users": ["u1", "u3"]}, 409, "users[1]", id="no-positive-event"),
        pytest.param({"users": ["u1", "u2"], "strategy": "x"}, 422, "strategy", id="strategy"),
        pytest.param({"users": ["u1", "u2"], "n": 0}, 422, "n", id="n"),
        pytest.param({"users": ["u1", "u2"], "space": "nope"}, 422, "space", id="space"),
        pytest.param({"users": ["u1", "u2"], "extra": 1}, 422, "extra", id="unknown-field"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    groups: tuple[TestClient, Engine], body: dict[str, Any], status: int, field: str
) -> None:
    client, engine = groups
    response = post(client, body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field
    assert engine.ctr_report() == []  # nothing logged


def test_the_route_needs_a_key(groups: tuple[TestClient, Engine]) -> None:
    client, _ = groups
    assert post(client, {"users": ["u1", "u2"]}, key=None).status_code == 401
    assert post(client, {"users": ["u1", "u2"]}, key="wrong").status_code == 401
