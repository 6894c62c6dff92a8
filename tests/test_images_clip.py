"""The CLIP case: `image_model = "openai:<model>"`, a server that embeds images and texts into
one space, so the space `image` is filled by sending it pictures (as `data:` URIs) and searched
with a text. Tested against the fake OpenAI server's `clip` model, which places pictures by
their colours and texts by the colours they name (tests/fake_openai.py)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.fake_openai import FakeOpenAI, fake_openai, picture

from likewise import Client, Engine
from likewise.cli.main import main
from likewise.config import Settings
from likewise.errors import ConfigError, EmbedderError, InvalidInput
from likewise.items.model import Item
from likewise.service import create_app

RED, RED2 = (220, 25, 30), (190, 40, 35)
BLUE, GREEN, YELLOW = (30, 50, 220), (30, 170, 50), (230, 220, 40)


def settings(fake: FakeOpenAI, **extra: Any) -> Settings:
    """A 16-d CLIP-like image model on the fake server; texts on the hashing model."""
    return Settings(
        image_model="openai:clip-test@16", openai_base_url=fake.url, openai_retries=2, **extra
    )


def catalog() -> list[dict[str, Any]]:
    """Pictures given as bytes (a JPEG among them), one as a data: URI, and an item without."""
    b64 = {k: base64.b64encode(picture(c)).decode() for k, c in {"blue": BLUE}.items()}
    return [
        {"id": "red", "title": "a jumper", "image_data": picture(RED)},
        {"id": "red2", "title": "a scarf", "image_data": picture(RED2, kind="JPEG")},
        {"id": "blue", "title": "a hat", "image_data": f"data:image/png;base64,{b64['blue']}"},
        {"id": "green", "title": "a coat", "image_data": picture(GREEN)},
        {"id": "yellow", "title": "a sock", "image_data": picture(YELLOW)},
        {"id": "plain", "title": "no picture"},
    ]


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with fake_openai() as server:
        yield server


@pytest.fixture
def engine(tmp_path: Path, fake: FakeOpenAI) -> Iterator[Engine]:
    with Engine.open(str(tmp_path / "d"), model="hashing-64", settings=settings(fake)) as eng:
        yield eng


def images_sent(fake: FakeOpenAI) -> list[str]:
    return [text for text in fake.inputs if text.startswith("data:")]


def test_text_finds_the_pictures_of_its_colour_first(location: str, fake: FakeOpenAI) -> None:
    with Engine.open(location, model="hashing-64", settings=settings(fake)) as engine:
        engine.add_items(catalog())
        assert engine.spaces()["image"].dim == 16
        assert set(engine.vectors(engine.ids(), space="image")) == {
            "red",
            "red2",
            "blue",
            "green",
            "yellow",
        }
        sent = images_sent(fake)
        assert len(sent) == 5 and sum(s.startswith("data:image/jpeg;base64,") for s in sent) == 1
        assert sum(s.startswith("data:image/png;base64,") for s in sent) == 4
        assert {h.id for h in engine.search("red", space="image", n=2)} == {"red", "red2"}
        assert engine.search("a blue hat", space="image", n=1)[0].id == "blue"
        hits = engine.search("yellow", space="image", n=3, exclude=["yellow"])
        assert "yellow" not in [h.id for h in hits] and len(hits) == 3
        assert engine.similar("red", space="image", n=1)[0].id == "red2"


def test_the_same_query_ranks_by_colour_in_order(engine: Engine) -> None:
    engine.add_items(catalog())
    ranked = [h.id for h in engine.search("green", space="image", n=5)]
    assert ranked[0] == "green" and set(ranked[1:]) == {"red", "red2", "blue", "yellow"}
    scores = [h.score for h in engine.search("red", space="image", n=5)]
    assert scores == sorted(scores, reverse=True) and scores[1] > scores[2]  # two reds, then


def test_over_http_bytes_go_in_as_base64_and_text_searches_images(
    engine: Engine, fake: FakeOpenAI
) -> None:
    records = catalog()
    for record in records:
        data = record.get("image_data")
        if isinstance(data, bytes):
            record["image_data"] = base64.b64encode(data).decode()
    with TestClient(create_app(Settings(), engine=engine)) as client:
        written = client.post("/v1/items:batch", json=records)
        assert written.status_code == 200, written.text
        found = client.post("/v1/search", json={"text": "red", "space": "image", "n": 2})
        assert found.status_code == 200, found.text
        assert {h["id"] for h in found.json()["items"]} == {"red", "red2"}
        item = client.get("/v1/items/red").json()
        assert "image_data" not in item and "image" not in item
        assert len(item["image_sha256"]) == 64
        unknown = client.post("/v1/search", json={"text": "red", "space": "nope"})
        assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "space"


def test_the_cli_ingests_base64_lines_and_searches_the_image_space(
    tmp_path: Path,
    fake: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIKEWISE_IMAGE_MODEL", "openai:clip-test@16")
    monkeypatch.setenv("LIKEWISE_OPENAI_BASE_URL", fake.url)
    lines = tmp_path / "items.jsonl"
    rows = [
        {"id": k, "title": k, "image_data": base64.b64encode(picture(c)).decode()}
        for k, c in {"red": RED, "blue": BLUE, "green": GREEN}.items()
    ]
    lines.write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = str(tmp_path / "d")
    assert main(["--data", data, "ingest", str(lines), "--model", "hashing-64"]) == 0
    capsys.readouterr()
    code = main(["--data", data, "search", "blue", "--space", "image", "-n", "1", "--json"])
    out, _ = capsys.readouterr()
    assert code == 0 and [h["id"] for h in json.loads(out)["items"]] == ["blue"]
    code = main(["--data", data, "search", "blue", "--space", "nope"])
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1 and "space" in err


def test_rate_limits_are_waited_out_as_for_text(engine: Engine, fake: FakeOpenAI) -> None:
    fake.fail_status, fake.fail_times, fake.retry_after = 429, 2, "0"
    engine.add_items(catalog())
    assert fake.statuses[:3] == [429, 429, 200]
    assert len(engine.vectors(engine.ids(), space="image")) == 5
    fake.fail_status, fake.fail_times = 429, 1
    assert engine.search("blue", space="image", n=1)[0].id == "blue"
    assert fake.statuses[-2:] == [429, 200]


def test_a_timeout_names_the_server_and_a_rerun_completes(tmp_path: Path, fake: FakeOpenAI) -> None:
    slow = settings(fake, openai_timeout=0.2)
    with Engine.open(str(tmp_path / "d"), model="hashing-64", settings=slow) as engine:
        fake.delay = 0.6
        with pytest.raises(EmbedderError, match="no answer in time"):
            engine.add_items(catalog())
        # The items were written; their images were not, and nothing of them was half-written.
        assert engine.count() == 6 and engine.vectors(engine.ids(), space="image") == {}
        fake.delay = 0.0
        engine.add_items(catalog())  # picks up the images still missing
        assert len(engine.vectors(engine.ids(), space="image")) == 5
        with pytest.raises(EmbedderError, match="HTTP 500"):
            fake.fail_status, fake.fail_times = 500, 10
            engine.search("green things", space="image")


def test_a_model_that_embeds_no_text_says_so_naming_the_space(tmp_path: Path) -> None:
    """The packaged EfficientNet embeds only pictures: a text cannot search its space."""
    with Engine.open(str(tmp_path / "d"), model="hashing-64") as engine:
        engine.add_items([{"id": "a", "title": "a"}])
        engine.add_space("image", 1280)
        with pytest.raises(InvalidInput, match="does not embed texts") as caught:
            engine.search("red", space="image")
        assert caught.value.field == "space"
        engine.add_space("mine", 3)
        with pytest.raises(InvalidInput, match="cannot be searched by text") as caught:
            engine.search("red", space="mine")
        assert caught.value.field == "space"


def test_an_image_model_of_another_dimension_is_refused_before_writing(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    data = str(tmp_path / "d")
    with Engine.open(data, model="hashing-64", settings=settings(fake)) as engine:
        engine.add_items(catalog()[:1])
    other = Settings(image_model="openai:clip-test@8", openai_base_url=fake.url)
    with Engine.open(data, settings=other) as engine:
        with pytest.raises(ConfigError, match="LIKEWISE_IMAGE_MODEL"):
            engine.add_items([{"id": "new", "title": "n", "image_data": picture(BLUE)}])
        assert engine.ids() == ["red"]


def test_the_client_sends_bytes_and_searches_the_image_space(engine: Engine) -> None:
    """`likewise.Client` over the app (a MockTransport handing each request to it)."""
    with TestClient(create_app(Settings(), engine=engine)) as app:

        def handle(request: httpx.Request) -> httpx.Response:
            answer = app.request(
                request.method,
                request.url.raw_path.decode(),
                content=request.content,
                headers={"content-type": request.headers.get("content-type", "")},
            )
            kind = {"content-type": answer.headers.get("content-type", "")}
            return httpx.Response(answer.status_code, content=answer.content, headers=kind)

        with Client("http://likewise.test", transport=httpx.MockTransport(handle)) as client:
            client.add_items(
                [
                    {"id": "red", "title": "r", "image_data": picture(RED)},
                    Item(id="blue", title="b", image_data=picture(BLUE)),
                ]
            )
            assert [h.id for h in client.search("blue", space="image", n=2)] == ["blue", "red"]
    assert engine.get("blue").image_sha256 == Item(id="x", image_data=picture(BLUE)).image_sha256
