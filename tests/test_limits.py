"""Issue 18's limits: each has a default and a setting, and each refusal names the field and
the setting that moves it, at the Python API and over HTTP; and the empty item. (A server's
memory under the largest requests: `test_limits_memory.py`.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from likewise import Conflict, Engine, InvalidInput, Settings
from likewise.items.model import Item
from likewise.service import create_app
from likewise.store import Entry

WIDE = "\U0001f600"  # four bytes in UTF-8: the widest an id's character can be


def wide(n: int, first: str = "a") -> str:
    return first + WIDE * (n - 1)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with Engine.open(str(tmp_path / "data"), model="hashing-64") as eng:
        eng.add_items([{"id": "a1", "title": "alpha beta"}, {"id": "z1", "title": "zeta"}])
        yield eng


def refused(call: Any, field: str, setting: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        call()
    assert caught.value.field == field
    assert setting in caught.value.reason
    return caught.value


# -- ids ------------------------------------------------------------------------------------


def test_ids_of_the_longest_width_fit_both_backends(location: str) -> None:
    """Two ids of 256 four-byte characters share one PostgreSQL index row (events_user), and
    so do a key and a number (item_numbers); ids of 400 failed there as a 503."""
    item, user, key = wide(256, "i"), wide(256, "u"), wide(256, "k")
    with Engine.open(location, model="hashing-64") as engine:
        engine.add_items([{"id": item, "title": "wide", key: 1}])
        assert engine.record(user, item, "like", event_id=wide(256, "e"))
        assert engine.get(item).metadata == {key: 1}
        assert engine.similar(item, where={key: {"gte": 1}}, n=1) == []  # itself excluded
        refused(
            lambda: engine.add_items([{"id": wide(257), "title": "x"}]),
            "items[0].id",
            "LIKEWISE_MAX_ID_LENGTH",
        )
        refused(lambda: engine.record(wide(257), item, "like"), "user_id", "LIKEWISE_MAX_ID_LENGTH")
        refused(
            lambda: engine.add_items([{"id": "k", "title": "x", wide(257): 1}]),
            "items[0].metadata",
            "LIKEWISE_MAX_ID_LENGTH",
        )
        refused(lambda: engine.recommend(wide(257)), "user_id", "LIKEWISE_MAX_ID_LENGTH")
        stats = engine.stats()
        assert (stats["items"], stats["events"]) == (1, 1)


def test_a_lowered_id_limit_applies_to_items_written(tmp_path: Path) -> None:
    with Engine.open(str(tmp_path / "d"), model="hashing-64") as engine:
        engine.add_items([{"id": "longer-than-eight", "title": "before"}])
    with Engine.open(str(tmp_path / "d"), settings=Settings(max_id_length=8)) as engine:
        error = refused(
            lambda: engine.add_items([{"id": "nine-char", "title": "x"}]),
            "items[0].id",
            "LIKEWISE_MAX_ID_LENGTH",
        )
        assert "limit of 8 characters" in error.reason
        engine.add_items([{"id": "eight-ch", "title": "x"}])
        # written before the setting was lowered: still read, searched and listed
        assert engine.get("longer-than-eight").title == "before"
        assert "longer-than-eight" in [h.id for h in engine.search("before", n=2)]


def test_items_stored_under_older_limits_are_still_read(location: str) -> None:
    """A version before these limits took ids of 512 characters and metadata of any size;
    the stores read such items back (`stored_item`) rather than failing on them."""
    old_id, big = "o" * 512, {"blob": "x" * 100_000}
    with Engine.open(location, model="hashing-64") as engine:
        engine.add_items([{"id": "a1", "title": "alpha"}])
        vector = engine.vectors(["a1"])["a1"]
        legacy = Item.model_construct(id=old_id, title="old", body="", tags=(), metadata=big)
        engine.store.upsert([Entry(legacy, "legacy", vector)])  # as the older version wrote
        assert engine.get(old_id).metadata == big
        assert {i.id for page in engine.store.iter_items(10) for i in page} == {"a1", old_id}
        assert old_id in [h.id for h in engine.similar("a1", n=5)]


# -- metadata and context -------------------------------------------------------------------


def test_metadata_is_at_most_64_kib_of_json(engine: Engine) -> None:
    room = 65_536 - len('{"k":""}')  # the limit counts compact UTF-8 JSON
    engine.add_items([{"id": "full", "title": "x", "k": "y" * room}])
    error = refused(
        lambda: engine.add_items([{"id": "over", "title": "x", "k": "y" * (room + 1)}]),
        "items[0].metadata",
        "LIKEWISE_MAX_METADATA_BYTES",
    )
    assert "65,537 bytes" in error.reason and "65,536" in error.reason
    refused(
        lambda: engine.record("u1", "a1", "view", context={"k": "y" * (room + 1)}),
        "context",
        "LIKEWISE_MAX_METADATA_BYTES",
    )
    assert engine.count() == 3 and engine.stats()["events"] == 0


def test_a_lowered_metadata_limit_counts_utf8_bytes(tmp_path: Path) -> None:
    settings = Settings(max_metadata_bytes=100)
    with Engine.open(str(tmp_path / "d"), model="hashing-64", settings=settings) as engine:
        engine.add_items([{"id": "fits", "title": "x", "k": "y" * 92}])  # 100 bytes
        refused(
            lambda: engine.add_items([{"id": "wide", "title": "x", "k": WIDE * 24}]),  # 104
            "items[0].metadata",
            "limit of 100",
        )
        assert engine.ids() == ["fits"]


# -- nesting --------------------------------------------------------------------------------


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def test_nesting_is_bounded_by_its_setting(tmp_path: Path) -> None:
    with Engine.open(str(tmp_path / "d"), model="hashing-64", settings=Settings(max_depth=3)) as e:
        e.add_items([{"id": "ok", "title": "x", "n": nested(2)}])  # the record, n, a, a: 3
        error = refused(
            lambda: e.add_items([{"id": "deep", "title": "x", "n": nested(3)}]),
            "items[0].n.a.a.a",
            "LIKEWISE_MAX_DEPTH",
        )
        assert "more than 3 deep" in error.reason
    raised = Settings(max_depth=64)
    with Engine.open(str(tmp_path / "d"), settings=raised) as e:
        e.add_items([{"id": "deeper", "title": "x", "n": nested(50)}])
        assert e.get("deeper").metadata["n"] == nested(50)  # read back past the default 32


# -- the embedder's cut ---------------------------------------------------------------------


def test_text_past_max_text_chars_is_cut_not_refused(tmp_path: Path) -> None:
    query = "alpha beta".ljust(20) + " zeta" * 2_000  # the first 20 characters name a1
    for settings, best in ((Settings(max_text_chars=20), "a1"), (Settings(), "z1")):
        with Engine.open(str(tmp_path / "d"), model="hashing-64", settings=settings) as engine:
            if not engine.ids():
                engine.add_items(
                    [{"id": "a1", "title": "alpha beta"}, {"id": "z1", "title": "zeta"}]
                )
            assert engine.search(query, n=1)[0].id == best


# -- the empty item -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record",
    [
        pytest.param({"id": "e"}, id="id-only"),
        pytest.param({"id": "e", "title": " \n", "body": "", "tags": []}, id="blank"),
        pytest.param({"id": "e", "category": "news"}, id="metadata-not-embedded"),
    ],
)
def test_an_item_with_nothing_to_embed_is_refused(engine: Engine, record: dict[str, Any]) -> None:
    with pytest.raises(Conflict) as caught:
        engine.add_items([{"id": "fine", "title": "fine"}, record])
    assert caught.value.field == "items[1].title"
    assert "title, body, tags" in caught.value.reason
    assert engine.ids() == ["a1", "z1"]


def test_what_the_template_embeds_decides_emptiness(tmp_path: Path) -> None:
    with Engine.open(str(tmp_path / "d"), model="hashing-64", template="title,genre") as engine:
        engine.add_items([{"id": "g", "genre": "space opera"}])  # no title: the genre embeds
        with pytest.raises(Conflict, match="title, genre") as caught:
            engine.add_items([{"id": "e", "body": "not embedded here"}])
        assert caught.value.field == "items[0].title"


def test_form_errors_come_before_emptiness(engine: Engine) -> None:
    refused(lambda: engine.add_items([{"id": "e"}, {"id": "t", "tags": 3}]), "items[1].tags", "")


def test_events_still_create_the_items_they_name(engine: Engine) -> None:
    report = engine.record_many(
        [{"user_id": "u1", "item_id": "new", "type": "click"}], unknown_items="create"
    )
    assert report.created == 1 and engine.get("new").title == ""
    engine.add_items([{"id": "new", "title": "filled in later"}])
    assert engine.get("new").title == "filled in later"


# -- over HTTP ------------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, Engine]]:
    """A server and its engine under one set of lowered limits, as `likewise serve` runs."""
    settings = Settings(max_batch=3, max_body_bytes=200_000, max_metadata_bytes=1_000)
    with Engine.open(str(tmp_path / "s"), model="hashing-64", settings=settings) as engine:
        engine.add_items([{"id": "a1", "title": "alpha beta"}, {"id": "z1", "title": "zeta"}])
        with TestClient(create_app(settings, engine=engine)) as client:
            yield client, engine


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def test_http_names_the_field_and_the_setting(served: tuple[TestClient, Engine]) -> None:
    client, engine = served
    error = error_of(client.put(f"/v1/items/{'a' * 257}", json={"title": "x"}), 422)
    assert error["field"] == "id" and "LIKEWISE_MAX_ID_LENGTH" in error["message"]
    error = error_of(client.get(f"/v1/users/{'u' * 257}/recommendations"), 422)
    assert error["field"] == "user_id" and "LIKEWISE_MAX_ID_LENGTH" in error["message"]
    error = error_of(client.put("/v1/items/m", json={"title": "x", "k": "y" * 1_000}), 422)
    assert error["field"] == "metadata" and "LIKEWISE_MAX_METADATA_BYTES" in error["message"]
    error = error_of(client.post("/v1/search", json={"text": "x" * 200_000}), 413)
    assert error["field"] == "body" and "LIKEWISE_MAX_BODY_BYTES" in error["message"]
    assert engine.ids() == ["a1", "z1"]


def test_http_refuses_the_empty_item(served: tuple[TestClient, Engine]) -> None:
    client, _ = served
    error = error_of(client.put("/v1/items/e", json={}), 409)
    assert error["field"] == "title" and "nothing to embed" in error["message"]
    error = error_of(
        client.post("/v1/items:batch", json=[{"id": "f", "title": "x"}, {"id": "e"}]), 409
    )
    assert error["field"] == "items[1].title"
    assert client.get("/v1/items/e").status_code == client.get("/v1/items/f").status_code == 404


def test_a_batch_request_holds_at_most_max_batch_records(
    served: tuple[TestClient, Engine],
) -> None:
    client, engine = served
    items = [{"id": f"b{k}", "title": f"item {k}"} for k in range(4)]
    error = error_of(client.post("/v1/items:batch", json=items), 422)
    assert error["field"] == "body" and "limit of 3 records" in error["message"]
    assert "LIKEWISE_MAX_BATCH" in error["message"]
    lines = "\n".join(json.dumps(i) for i in items) + "\n{not json"  # refused before line 5
    ndjson = client.post(
        "/v1/items:batch", content=lines, headers={"Content-Type": "application/x-ndjson"}
    )
    assert error_of(ndjson, 422)["field"] == "body"
    events = [{"user_id": "u1", "item_id": "a1", "type": "view"}] * 4
    assert error_of(client.post("/v1/events", json=events), 422)["field"] == "body"
    assert (engine.count(), engine.stats()["events"]) == (2, 0)
    assert client.post("/v1/items:batch", json=items[:3]).json()["new"] == 3
    assert client.post("/v1/events", json=events[:3]).json()["accepted"] == 3
    # the Engine's own calls take any number: they write in durable batches
    assert engine.record_many(events).accepted == 4
