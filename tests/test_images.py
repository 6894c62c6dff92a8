"""The space `image`, filled at ingest from the items' `image` field, on both backends and over
HTTP: similar by image, refusals that write nothing, and only new or changed images embedded."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from tests.embedders.test_image import draw, image_graph  # noqa: F401  (a session fixture)

from likewise import Engine
from likewise.config import Settings
from likewise.embedders.base import Vectors
from likewise.embedders.image import ImageEmbedder
from likewise.errors import InvalidInput
from likewise.service import create_app
from likewise.store import Space, metric_of


class Counting(ImageEmbedder):
    """The real model, counting the paths it embeds."""

    def __init__(self, cache: Path) -> None:
        super().__init__(cache=cache, threads=2)
        self.paths: list[str] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.paths += texts
        return super().embed(texts)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return draw(tmp_path_factory.mktemp("pictures"))


def disc(pictures: dict[str, str]) -> str:
    return next(path for name, path in pictures.items() if name.startswith("disc."))


def catalog(pictures: dict[str, str]) -> list[dict[str, object]]:
    items: list[dict[str, object]] = [
        {"id": name.split(".")[0], "title": f"item {name}", "image": path}
        for name, path in pictures.items()
    ]
    items.append({"id": "linked", "title": "a picture elsewhere", "image": "https://x.test/a.png"})
    items.append({"id": "plain", "title": "no picture"})
    return items


def opened(location: str, cache: Path, folder: Path) -> Engine:
    """An engine whose items' images are read from `folder` (LIKEWISE_IMAGE_FOLDER)."""
    engine = Engine.open(location, model="hashing-64", settings=Settings(image_folder=str(folder)))
    engine.image_embedder = Counting(cache)
    return engine


@pytest.fixture
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp()  # holds the pictures and each test's tmp_path


@pytest.fixture
def engine(tmp_path: Path, image_graph: Path, folder: Path) -> Iterator[Engine]:  # noqa: F811
    with opened(str(tmp_path / "data"), image_graph, folder) as eng:
        yield eng


def test_without_an_image_folder_no_file_is_read(tmp_path: Path, pictures: dict[str, str]) -> None:
    """`image` stays a link, as it was before images were embedded: no file is opened."""
    with Engine.open(str(tmp_path / "data"), model="hashing-64") as engine:
        engine.add_items(catalog(pictures))
        assert engine.image_embedder is None and "image" not in engine.spaces()
        assert engine.get("red").image == pictures["red.png"]


@pytest.mark.parametrize("escape", ["../../../etc/passwd", "/etc/passwd", "link/passwd"])
def test_a_path_out_of_the_image_folder_is_refused(
    tmp_path: Path,
    image_graph: Path,  # noqa: F811
    pictures: dict[str, str],
    escape: str,
) -> None:
    inside = tmp_path / "images"
    inside.mkdir()
    (inside / "link").symlink_to("/etc")
    with opened(str(tmp_path / "data"), image_graph, inside) as engine:
        with pytest.raises(InvalidInput, match="outside the image folder") as caught:
            engine.add_items([{"id": "x", "title": "x", "image": escape}])
        assert caught.value.field == "items[0].image" and engine.count() == 0


def test_ingest_fills_the_image_space_and_similar_finds_by_picture(
    location: str,
    image_graph: Path,  # noqa: F811
    pictures: dict[str, str],
    folder: Path,
) -> None:
    with opened(location, image_graph, folder) as engine:
        engine.add_items(catalog(pictures))
        assert engine.spaces()["image"] == Space("image", 1280, metric_of("cosine"))
        embedded = engine.vectors(engine.ids(), space="image")
        assert set(embedded) == {"red", "red2", "stripes", "stripes2", "disc"}  # no URL, none
        assert engine.similar("red", space="image", n=2)[0].id == "red2"
        assert engine.similar("stripes", space="image", n=2)[0].id == "stripes2"
        assert engine.similar("red", space="image", n=10)[-1].id != "red2"


def test_a_bad_image_refuses_the_whole_call_naming_it(
    engine: Engine, pictures: dict[str, str], tmp_path: Path
) -> None:
    fake = tmp_path / "fake.jpg"
    fake.write_text("<html>not a picture</html>")
    for bad, reason in [(str(tmp_path / "gone.png"), "No such file"), (str(fake), "not an image")]:
        items = catalog(pictures)
        items[2]["image"] = bad
        with pytest.raises(InvalidInput, match=reason) as caught:
            engine.add_items(items)
        assert caught.value.field == "items[2].image"
        assert engine.count() == 0 and "image" not in engine.spaces()  # nothing written


def test_only_new_changed_or_missing_images_are_embedded(
    engine: Engine, pictures: dict[str, str], tmp_path: Path
) -> None:
    model = engine.image_embedder
    assert isinstance(model, Counting)
    engine.add_items(catalog(pictures))
    assert len(model.paths) == 5
    before = engine.vectors(["red"], space="image")["red"]
    engine.add_items(catalog(pictures))  # the same again: nothing to embed
    assert len(model.paths) == 5
    blue = tmp_path / "blue.png"
    Image.new("RGB", (100, 100), (20, 30, 230)).save(blue)
    engine.add_items([{"id": "red", "title": "item red.png", "image": str(blue)}])
    assert model.paths[5:] == [str(blue)]
    after = engine.vectors(["red"], space="image")["red"]
    assert float(before @ after) < 0.99
    # An item written without its image vector (an ingest cut short) gets it on the next one.
    engine.add_items([{"id": "late", "title": "late"}])
    engine.add_items([{"id": "late", "title": "late", "image": disc(pictures)}])
    assert "late" in engine.vectors(["late"], space="image")


def test_a_catalog_without_local_images_needs_no_image_model(tmp_path: Path) -> None:
    with Engine.open(str(tmp_path / "data"), model="hashing-64") as engine:
        engine.add_items([{"id": "a", "title": "linked", "image": "https://x.test/a.png"}])
        assert engine.image_embedder is None and "image" not in engine.spaces()


def test_images_named_over_http_are_embedded_or_refused(
    engine: Engine, pictures: dict[str, str]
) -> None:
    with TestClient(create_app(Settings(), engine=engine)) as client:
        written = client.post("/v1/items:batch", json=catalog(pictures))
        assert written.status_code == 200, written.text
        assert engine.similar("stripes", space="image", n=1)[0].id == "stripes2"
        by_picture = client.get("/v1/items/stripes/similar", params={"space": "image", "n": 1})
        assert by_picture.status_code == 200 and by_picture.json()["items"][0]["id"] == "stripes2"
        bad = catalog(pictures)
        bad[0]["image"] = "/nonexistent/x.png"
        refused = client.post("/v1/items:batch", json=bad)
        assert refused.status_code == 422
        error = refused.json()["error"]
        assert error["field"] == "items[0].image" and "outside the image folder" in error["message"]
    vectors = engine.vectors(engine.ids(), space="image")
    assert all(np.isfinite(v).all() for v in vectors.values())
