"""Blended spaces on both stores: related items and "for you" lists scored in `text` and
`image` at once, a user's vector in `image` made from their events, "for you" from a query
vector of any space, the weights checked by name, and the same over HTTP."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from likewise import Engine, InvalidInput, NotFound
from likewise.cli.main import main
from likewise.config import Settings
from likewise.service import create_app

# Mugs that read alike; a red shirt that looks like the red mug and reads like nothing here;
# two mountain pictures; a mug with no picture. `image` is 3-d: red, blue, white-ish.
CATALOG: list[dict[str, Any]] = [
    {"id": "mug-red", "title": "red ceramic mug", "vectors": {"image": [1, 0, 0]}},
    {"id": "mug-blue", "title": "blue ceramic mug", "vectors": {"image": [0, 1, 0]}},
    {"id": "mug-tea", "title": "ceramic mug for tea"},
    {"id": "shirt-red", "title": "cotton shirt with collar", "vectors": {"image": [0.95, 0.1, 0]}},
    {"id": "poster", "title": "mountain poster print", "vectors": {"image": [0, 0, 1]}},
    {"id": "print", "title": "mountain print framed", "vectors": {"image": [0.1, 0.3, 1]}},
]
BLEND = {"text": 0.5, "image": 0.5}


@pytest.fixture
def engine(location: str) -> Iterator[Engine]:
    with Engine.open(location, model="hashing-64") as eng:
        eng.add_space("image", 3)
        eng.add_items(CATALOG)
        yield eng


def cosine(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def rank(ids: list[str], item: str) -> int:
    return ids.index(item) if item in ids else len(ids)


def test_related_items_blend_the_cosines_of_each_space(engine: Engine) -> None:
    by_text = [h.id for h in engine.similar("mug-red", n=5, spaces={"text": 1})]
    assert by_text[:2] == ["mug-blue", "mug-tea"] and rank(by_text, "shirt-red") >= 2
    # Similar by picture only: the red shirt comes up once the image has weight.
    assert engine.similar("mug-red", n=1, spaces={"image": 1})[0].id == "shirt-red"
    hits = engine.similar("mug-red", n=5, spaces=BLEND)
    assert hits[0].id == "shirt-red"
    text = engine.vectors([h.id for h in hits] + ["mug-red"])
    image = engine.vectors([h.id for h in hits] + ["mug-red"], space="image")
    for hit in hits:  # the weighted sum of the cosines, 0 where an item has no picture
        seen = cosine(image[hit.id], image["mug-red"]) if hit.id in image else 0.0
        want = 0.5 * cosine(text[hit.id], text["mug-red"]) + 0.5 * seen
        assert hit.score == pytest.approx(want, abs=1e-5), hit
    assert "mug-tea" in [h.id for h in hits] and "mug-tea" not in image
    # Weights are scaled to sum to 1; a blend of one space is that space's own neighbours.
    scaled = engine.similar("mug-red", n=5, spaces={"text": 3, "image": 3})
    assert [(h.id, round(h.score, 5)) for h in scaled] == [(h.id, round(h.score, 5)) for h in hits]
    alone = engine.similar("mug-red", n=2, spaces={"image": 2.0})  # past 2: ties at 0
    own = engine.similar("mug-red", n=2, space="image")
    assert [h.id for h in alone] == [h.id for h in own]
    assert [h.score for h in alone] == pytest.approx([h.score for h in own], abs=1e-5)
    # An item with no picture has text neighbours only, scaled by the text's weight.
    tea = engine.similar("mug-tea", n=2, spaces=BLEND)
    assert tea and all(h.score <= 0.5 + 1e-6 for h in tea)
    rest = engine.similar("mug-red", n=5, spaces=BLEND, exclude=["shirt-red"])
    assert rest[0].id == "mug-blue" and "shirt-red" not in [h.id for h in rest]


BAD_SPACES: list[Any] = [
    pytest.param({"nope": 1.0}, id="unknown"),
    pytest.param({"text": -0.5, "image": 1}, id="negative"),
    pytest.param({"text": math.nan}, id="nan"),
    pytest.param({"text": math.inf}, id="inf"),
    pytest.param({"text": 0, "image": 0.0}, id="zero-sum"),
    pytest.param({}, id="empty"),
    pytest.param({"text": True}, id="bool"),
    pytest.param({"text": "1"}, id="string"),
    pytest.param([("text", 1.0)], id="not-a-mapping"),
]


@pytest.mark.parametrize("bad", BAD_SPACES)
def test_bad_weights_name_spaces(engine: Engine, bad: Any) -> None:
    engine.record("u", "mug-red", "like")
    before = engine.similar("mug-red", n=3)
    for call in (
        lambda: engine.similar("mug-red", spaces=bad),
        lambda: engine.recommend("u", spaces=bad, track=False),
    ):
        with pytest.raises(InvalidInput) as caught:
            call()
        assert caught.value.field == "spaces", caught.value
    assert engine.similar("mug-red", n=3) == before


def test_spaces_go_with_no_source_space_or_hybrid(engine: Engine) -> None:
    engine.record("u", "mug-red", "like")
    for call, field in [
        (lambda: engine.similar("mug-red", spaces=BLEND, source="content"), "spaces"),
        (lambda: engine.similar("mug-red", spaces=BLEND, space="image"), "spaces"),
        (lambda: engine.recommend("u", spaces=BLEND, strategy="hybrid"), "spaces"),
        (lambda: engine.recommend("u", spaces=BLEND, strategy="popular"), "spaces"),
        (lambda: engine.recommend("u", spaces=BLEND, space="behaviour"), "spaces"),
        (lambda: engine.recommend("u", space="nope"), "space"),
        (lambda: engine.recommend("u", space="image", strategy="hybrid"), "space"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            call()
        assert caught.value.field == field, caught.value
    with pytest.raises(NotFound):
        engine.similar("missing", spaces=BLEND)


def test_for_you_blends_a_users_vector_made_in_each_space(engine: Engine) -> None:
    engine.record("u", "mug-red", "like")
    by_text = [r.id for r in engine.recommend("u", n=5, track=False).items]
    assert by_text[:2] == ["mug-blue", "mug-tea"] and rank(by_text, "shirt-red") >= 2
    blended = engine.recommend("u", n=5, spaces=BLEND, track=False)
    assert blended.items[0].id == "shirt-red" and "mug-red" not in [r.id for r in blended.items]
    assert blended.items[0].reason == "because you liked 'red ceramic mug'"
    # One like: the user's vector in each space is the liked item's own.
    assert blended.items[0].score == pytest.approx(0.5 * cosine(*_pair(engine, "image")), abs=1e-5)
    pictured = engine.recommend("u", n=3, space="image", track=False)  # `spaces` of one
    assert [r.id for r in pictured.items] == ["shirt-red", "print", "mug-blue"]
    # The vector follows new events (the cached list is dropped): towards the mountains.
    engine.record("u", "poster", "like")
    moved = engine.recommend("u", n=3, space="image", track=False)
    assert not moved.cached and _score(moved, "print") > _score(pictured, "print") + 0.1
    # A dislike turns the image vector away from the shirt (dislike), not the EMA.
    engine.record("v", "mug-red", "like")
    engine.record("v", "print", "like")
    engine.record("v", "shirt-red", "dislike")
    ema = engine.recommend("v", n=3, spaces={"image": 1}, strategy="ema", include_seen=True)
    kept = engine.recommend("v", n=3, spaces={"image": 1}, strategy="dislike", include_seen=True)
    assert _score(ema, "shirt-red") > _score(kept, "shirt-red") + 0.05
    mean = engine.recommend("v", n=6, spaces={"image": 1}, strategy="mean", include_seen=True)
    image = engine.vectors(["mug-red", "print", "poster"], space="image")
    middle = image["mug-red"] + image["print"]  # unit vectors: a cosine space keeps them so
    assert _score(mean, "poster") == pytest.approx(cosine(middle, image["poster"]), abs=1e-5)


def _pair(engine: Engine, space: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    found = engine.vectors(["mug-red", "shirt-red"], space=space)
    return found["mug-red"], found["shirt-red"]


def _score(rec: Any, item: str) -> float:
    return float(next(r.score for r in rec.items if r.id == item))


def test_a_user_with_no_picture_in_their_events(engine: Engine) -> None:
    engine.record("w", "mug-tea", "like")
    alone = engine.recommend("w", n=3, spaces={"image": 1}, track=False)
    assert alone.strategy == "popular"  # nothing to go on in the image space
    blended = engine.recommend("w", n=3, spaces=BLEND, track=False)
    assert blended.items[0].id in ("mug-red", "mug-blue")
    assert all(r.score <= 0.5 + 1e-6 for r in blended.items)


def test_for_you_from_a_query_vector_of_any_space(engine: Engine) -> None:
    rec = engine.recommend_from(vector=[0, 0, 1], space="image", n=2)
    assert [r.id for r in rec.items] == ["poster", "print"]
    assert rec.items[0].score == pytest.approx(1.0, abs=1e-5)
    liked = engine.recommend_from(["mug-red"], space="image", n=2)
    assert [r.id for r in liked.items] == ["shirt-red", "print"]
    best = engine.recommend_from(["mug-red"], ["print"], space="image", strategy="best_score")
    assert best.items[0].id == "shirt-red" and "print" not in [r.id for r in best.items]
    both = engine.recommend_from(["poster"], vector=np.array([1.0, 0, 0]), space="image", n=1)
    assert both.items[0].id in ("print", "shirt-red")
    asked: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"vector": [1, 0]}, InvalidInput, "vector"),
        ({"vector": [1, 0, math.nan]}, InvalidInput, "vector"),
        ({"vector": [0.0] * 3}, InvalidInput, "vector"),
        ({"vector": [1, 0, 0], "space": "nope"}, InvalidInput, "space"),
        ({"positive": ["mug-red"], "strategy": "hybrid"}, InvalidInput, "space"),
        ({"positive": ["mug-tea"]}, InvalidInput, "positive[0]"),  # no picture
        ({"positive": ["poster", "gone"]}, NotFound, "positive[1]"),
        ({"positive": []}, InvalidInput, "positive"),
        ({"positive": ["poster"], "negative": [[1.0, 0]]}, InvalidInput, "negative[0]"),
    ]
    for given, kind, field in asked:
        with pytest.raises(kind) as caught:
            engine.recommend_from(**{"space": "image", **given})
        assert caught.value.field == field, (given, caught.value)


def test_blends_over_http(engine: Engine) -> None:
    engine.record("u", "mug-red", "like")
    with TestClient(create_app(Settings(), engine=engine)) as client:
        found = client.get("/v1/items/mug-red/similar", params={"spaces": "text:0.5,image:0.5"})
        assert found.status_code == 200, found.text
        assert found.json()["items"][0]["id"] == "shirt-red"
        path = "/v1/users/u/recommendations"
        rec = client.get(path, params={"spaces": "image:1", "n": 2})
        assert [r["id"] for r in rec.json()["items"]] == ["shirt-red", "print"], rec.text
        alone = client.get(path, params={"space": "image", "n": 2})
        assert [r["id"] for r in alone.json()["items"]] == ["shirt-red", "print"], alone.text
        body = {"vector": [0, 0, 1], "space": "image", "n": 1}
        session = client.post("/v1/recommend", json=body)
        assert session.status_code == 200 and session.json()["items"][0]["id"] == "poster"
        for bad in ("text", "text:x", "text:1,text:2", "text:nan", "text:-1", "nope:1", ""):
            for url in ("/v1/items/mug-red/similar", path):
                refused = client.get(url, params={"spaces": bad})
                assert refused.status_code == 422, (url, bad, refused.text)
                assert refused.json()["error"]["field"] == "spaces", refused.text
        refused = client.post("/v1/recommend", json={**body, "vector": [1, 0]})
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "vector"
        refused = client.post("/v1/recommend", json={**body, "space": "nope"})
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "space"


def _cli(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> tuple[int, Any, str]:
    code = main(["--data", str(data), *args])
    out, err = capsys.readouterr()
    return code, json.loads(out) if code == 0 else out, err


def test_the_cli_blends_spaces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    with Engine.open(str(data), model="hashing-64") as engine:
        engine.add_space("image", 3)
        engine.add_items(CATALOG)
        engine.record("u", "mug-red", "like")
    code, out, _ = _cli(capsys, data, "similar", "mug-red", "--spaces", "text:1,image:1", "--json")
    assert code == 0 and out["items"][0]["id"] == "shirt-red"
    code, out, _ = _cli(capsys, data, "recommend", "u", "--spaces", "image:1", "-n", "2", "--json")
    assert code == 0 and [r["id"] for r in out["items"]] == ["shirt-red", "print"]
    code, out, _ = _cli(capsys, data, "recommend", "u", "--space", "image", "-n", "1", "--json")
    assert code == 0 and out["items"][0]["id"] == "shirt-red"
    vector = ["--vector", "[0, 0, 1]", "--space", "image", "-n", "1", "--json"]
    code, out, _ = _cli(capsys, data, "recommend-from", *vector)
    assert code == 0 and out["items"][0]["id"] == "poster"
    code, out, _ = _cli(capsys, data, "recommend-from", "mug-red", "--space", "image", "--json")
    assert code == 0 and out["items"][0]["id"] == "shirt-red"
    for args in (
        ["similar", "mug-red", "--spaces", "text:-1"],
        ["similar", "mug-red", "--spaces", "text"],
        ["recommend", "u", "--spaces", "nope:1"],
        ["recommend-from", "--vector", "[1, 0]", "--space", "image"],
    ):
        code, _, err = _cli(capsys, data, *args)
        assert code == 2 and len(err.strip().splitlines()) == 1, (args, err)
        assert ("vector" if "--vector" in args else "spaces") in err, err


def test_an_integer_weight_past_floats_range_is_refused_by_name() -> None:
    """`{"text": 10**400}` is InvalidInput naming `spaces`, not an OverflowError."""
    from likewise.recommend.spaces import check_spaces
    from likewise.store import Space

    with pytest.raises(InvalidInput) as refused:
        check_spaces({"text": 10**400}, {"text": Space("text", 4, "cosine")})
    assert refused.value.field == "spaces"
