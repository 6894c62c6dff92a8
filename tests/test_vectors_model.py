"""`--model vectors:<dim>`: a store with no text model, whose `text` space takes the team's
own vectors, on both backends. Items must carry `vectors.text`; words are refused with a
pointer to search by vector; related items, "for you" (profiles from the given vectors),
onboarding from items, the hybrid and eval work from the given vectors alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema_rs  # schemathesis's validator
import numpy as np
import pytest
from fastapi.testclient import TestClient

from likewise import Engine, Settings
from likewise.cli.main import main
from likewise.embedders.plugins import vectors as vectors_factory
from likewise.embedders.registry import get_embedder, listed
from likewise.embedders.vectors import OwnVectors
from likewise.errors import ConfigError, Conflict, InvalidInput
from likewise.service import create_app

# Two clusters in 4 dimensions: a* near the first axis, b* near the second. No titles: a
# store without a text model needs none.
VECTORS = {
    "a1": [1.0, 0.1, 0.0, 0.0],
    "a2": [0.9, 0.0, 0.2, 0.0],
    "a3": [1.0, 0.0, 0.0, 0.3],
    "b1": [0.0, 1.0, 0.1, 0.0],
    "b2": [0.1, 0.9, 0.0, 0.0],
    "b3": [0.0, 1.0, 0.0, 0.2],
}
ITEMS = [{"id": i, "category": i[0], "vectors": {"text": v}} for i, v in VECTORS.items()]


def _unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a)


def _nearest(query: list[float], n: int, skip: tuple[str, ...] = ()) -> list[str]:
    """The `n` items closest to `query` by cosine, worked out here from the given vectors."""
    scores = {i: float(_unit(v) @ _unit(query)) for i, v in VECTORS.items() if i not in skip}
    return sorted(scores, key=lambda i: -scores[i])[:n]


@pytest.fixture
def engine(location: str) -> Iterator[Engine]:
    # Built by the factory: the entry point is visible once likewise is installed again.
    with Engine.open(location, embedder=vectors_factory("4")) as eng:
        eng.add_items(ITEMS)
        yield eng


def test_the_factory_makes_a_model_that_embeds_nothing() -> None:
    model = vectors_factory("4")
    assert isinstance(model, OwnVectors) and (model.model_id, model.dim) == ("vectors:4", 4)
    with pytest.raises(Conflict, match=r"no text model.*search by vector") as refused:
        model.embed(["moon"])
    assert refused.value.field == "text"
    for bad in ("", "0", "x", "2001", "4:dot"):
        with pytest.raises(ConfigError, match=rf"'vectors:{bad}': give the dimension"):
            vectors_factory(bad)


def test_items_carry_the_text_vectors_and_search_uses_them(engine: Engine) -> None:
    stored = engine.vectors(list(VECTORS))
    for item_id, given in VECTORS.items():  # a cosine store keeps them at unit length
        assert stored[item_id] == pytest.approx(_unit(given), abs=1e-6)
    assert engine.stats()["model"] == "vectors:4"
    hits = engine.similar("a1", n=5)
    assert [h.id for h in hits] == _nearest(VECTORS["a1"], 5, ("a1",))
    assert _nearest(VECTORS["a1"], 2, ("a1",)) == ["a2", "a3"]  # the data is as meant
    assert hits[0].score == pytest.approx(float(_unit(VECTORS["a1"]) @ _unit(VECTORS["a2"])))
    assert [h.id for h in engine.search_vector([0, 1, 0, 0], n=3)] == _nearest([0, 1, 0, 0], 3)
    # A new vector for an item is a change; the same one is not.
    again = engine.add_items([ITEMS[0]])
    assert (again.unchanged, again.changed) == (1, 0)
    moved = engine.add_items([{"id": "a1", "category": "a", "vectors": {"text": [0, 0, 0, 1]}}])
    assert (moved.changed, moved.embedded) == (1, 0)
    assert engine.vectors(["a1"])["a1"] == pytest.approx([0, 0, 0, 1])


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        pytest.param({"id": "c1", "title": "moon"}, "vectors.text", "every item must", id="none"),
        pytest.param({"id": "c1", "vectors": {"text": [1, 2]}}, "vectors.text", "has 2", id="dim"),
        pytest.param(
            {"id": "c1", "vectors": {"text": [0, 0, 0, 0]}}, "vectors.text", "zeros", id="zeros"
        ),
    ],
)
def test_an_item_without_a_good_text_vector_is_refused_with_nothing_written(
    engine: Engine, record: dict[str, object], field: str, reason: str
) -> None:
    good = {"id": "c0", "vectors": {"text": [1, 1, 1, 1]}}
    with pytest.raises(InvalidInput, match=reason) as refused:
        engine.add_items([good, record])
    assert refused.value.field == f"items[1].{field}"
    assert engine.count() == len(VECTORS) and "c0" not in engine.ids()
    assert [(k, p.field) for k, p in engine.check_items([good, record])] == [(1, field)]


def test_words_are_refused_with_a_pointer_to_vectors(engine: Engine) -> None:
    with pytest.raises(Conflict, match=r"search by vector") as refused:
        engine.search("moon", n=3)
    assert refused.value.field == "text"
    with pytest.raises(Conflict, match=r"no text model") as refused:
        engine.onboard("u1", text="moon")
    assert refused.value.field == "text"
    assert engine.profile("u1")["strategy"] == "popular"  # no profile was started


def test_for_you_onboarding_and_the_hybrid_come_from_the_given_vectors(engine: Engine) -> None:
    engine.record_many([{"user_id": "u1", "item_id": "a1", "type": "like"}])
    assert [r.id for r in engine.recommend("u1", n=2).items] == ["a2", "a3"]
    engine.onboard("u2", items=["b2"])
    # Chosen items are a start, not seen: b2 itself may be recommended.
    assert [r.id for r in engine.recommend("u2", n=2).items] == _nearest(VECTORS["b2"], 2)
    events = [
        {"user_id": f"v{k}", "item_id": i, "type": "like"}
        for k in range(6)
        for i in (("a1", "a2") if k % 2 else ("b1", "b2"))
    ]
    engine.record_many(events)
    engine.train()
    hybrid = engine.recommend("u1", n=3, strategy="hybrid").items
    assert hybrid and "a1" not in {r.id for r in hybrid}
    assert {r.id for r in engine.similar("b1", n=2)} == {"b2", "b3"}


def test_over_http_text_search_is_a_409_naming_text(engine: Engine) -> None:
    with TestClient(create_app(Settings(), engine=engine)) as client:
        refused = client.post("/v1/search", json={"text": "moon"})
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["field"] == "text"
        found = client.post("/v1/search", json={"vector": [0, 0, 1, 0], "n": 1})
        assert found.status_code == 200
        assert found.json()["items"][0]["id"] == _nearest([0, 0, 1, 0], 1)[0]
        bad = client.put("/v1/items/c1", json={"title": "no vector"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "vectors.text"


# -- by name: these need likewise's entry points as this tree declares them (reinstall) -----


def test_the_name_reaches_the_factory_and_is_listed() -> None:
    model = get_embedder("vectors:8")
    assert isinstance(model, OwnVectors) and model.dim == 8
    assert get_embedder(model.model_id).model_id == "vectors:8"
    rows = [row for row in listed() if row.plugin == "vectors"]
    assert [(row.name, row.dim, row.distribution) for row in rows] == [
        ("vectors:<dim>", None, "likewise")
    ]


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_makes_and_serves_a_store_of_own_vectors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, items, events = tmp_path / "data", tmp_path / "items.jsonl", tmp_path / "events.csv"
    items.write_text("".join(json.dumps(item) + "\n" for item in ITEMS))
    rows = [
        f"u{k},{i},like,{1000 + 10 * k + n}"
        for k in range(8)
        for n, i in enumerate(("a1", "a2", "a3") if k % 2 else ("b1", "b2", "b3"))
    ]
    events.write_text("user_id,item_id,type,timestamp\n" + "\n".join(rows) + "\n")
    at = ("--data", str(data))
    code, out, err = _cli(capsys, *at, "ingest", str(items), "--model", "vectors:4", "--json")
    assert code == 0, err
    assert json.loads(out)["new"] == 6
    code, out, err = _cli(capsys, *at, "search", "moon")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "no text model" in err and "--vector" in err
    code, out, err = _cli(capsys, *at, "search", "--vector", "[0, 1, 0, 0]", "-n", "1", "--json")
    assert code == 0 and json.loads(out)["items"][0]["id"] == _nearest([0, 1, 0, 0], 1)[0]
    code, out, err = _cli(capsys, "models", "--json")
    assert code == 0 and "vectors:<dim>" in {row["name"] for row in json.loads(out)["models"]}
    code, out, err = _cli(
        capsys, "eval", "--dataset", f"{items},{events}", "--model", "vectors:4",
        "--strategies", "ema", "--k", "1", "--json",
    )  # fmt: skip
    assert code == 0, err
    # Each user's held-out like is the one item of their cluster left: the profile made of
    # the given vectors of the other two puts it first.
    (row,) = json.loads(out)
    assert (row["strategy"], row["users"], row["hr"]) == ("ema", 8, 1.0)


@pytest.mark.parametrize(
    ("vectors", "valid"),
    [
        pytest.param({"text": [0.5, 0, 0, 1]}, True, id="good"),
        pytest.param({"text": ["0.5", 0, 0, 1]}, False, id="string"),
        pytest.param({"text": [2e6, 0, 0, 1]}, False, id="too-large"),
        pytest.param({"text": []}, False, id="empty"),
        pytest.param({"Text": [1, 0, 0, 1]}, False, id="space-name"),
        pytest.param([1, 0, 0, 1], False, id="not-an-object"),
    ],
)
def test_the_documented_item_vectors_are_what_the_server_takes(
    engine: Engine, vectors: object, valid: bool
) -> None:
    with TestClient(create_app(Settings(), engine=engine)) as client:
        document = client.get("/openapi.json").json()
        schema = document["components"]["schemas"]["ItemFields"]["properties"]["vectors"]
        documented = jsonschema_rs.Draft202012Validator(schema).is_valid(vectors)
        answer = client.put("/v1/items/c1", json={"vectors": vectors})
    assert documented == valid
    assert answer.status_code == (201 if valid else 422), answer.text
