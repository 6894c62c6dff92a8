"""Image embedding throughput (EfficientNet-Lite0, ONNX) against the text model, in one run.

Draws `--images` photo-sized JPEGs (640x480, smooth colour fields with noise, so the decoder
does real work), then embeds them in batches of 16 with the image model and as many short
texts with the packaged MiniLM, each on `--threads` cores. Prints images/s and texts/s, the
median and p99 time per batch, the share of an image batch spent reading files (decode,
resize, crop), and the one-off export to ONNX when the cache folder is empty.

    python -P bench/images.py [--images 256] [--threads 2] [--cache DIR]

(`-P`: bench/http.py would otherwise shadow the standard library's `http`.)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from likewise.embedders.image import ImageEmbedder, graph, read_image
from likewise.embedders.onnx import MiniLMEmbedder

BATCH = 16


def photos(folder: Path, n: int, rng: np.random.Generator) -> list[str]:
    """`n` JPEGs of 640x480: a random colour gradient with noise, quality 90."""
    ys, xs = np.mgrid[0:480, 0:640].astype(np.float32)
    paths = []
    for k in range(n):
        a, b = rng.uniform(0, 255, (2, 3))
        field = a + (b - a) * (xs / 640)[..., None] * (ys / 480)[..., None]
        pixels = np.clip(field + rng.normal(0, 12, field.shape), 0, 255).astype(np.uint8)
        path = folder / f"photo{k:04d}.jpg"
        Image.fromarray(pixels).save(path, quality=90)
        paths.append(str(path))
    return paths


def per_batch(embed: Callable[[Sequence[str]], object], inputs: list[str]) -> list[float]:
    times = []
    for start in range(0, len(inputs), BATCH):
        began = time.perf_counter()
        embed(inputs[start : start + BATCH])
        times.append(time.perf_counter() - began)
    return times


def row(name: str, count: int, times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    rate = count / sum(times)
    median = statistics.median(times) * 1000
    return f"| {name} | {count} | {rate:,.1f}/s | {median:,.1f} ms | {p99 * 1000:,.1f} ms |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=None, help="default: a new temp folder")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or Path(tmp) / "cache"
        began = time.perf_counter()
        graph(cache)
        export = time.perf_counter() - began
        paths = photos(Path(tmp), args.images, rng)
        image = ImageEmbedder(cache=cache, threads=args.threads)
        image.embed(paths[:BATCH])  # warm: the session is built on first use
        image_times = per_batch(image.embed, paths)
        began = time.perf_counter()
        for path in paths:
            read_image(path)
        reading = time.perf_counter() - began
    words = ["red", "linen", "shirt", "oak", "table", "lamp", "wool", "blue", "chair", "mug"]
    texts = [" ".join(rng.choice(words, size=12)) for _ in range(args.images)]
    text = MiniLMEmbedder(threads=args.threads, batch_size=BATCH)
    text.embed(texts[:BATCH])
    text_times = per_batch(text.embed, texts)
    print(f"export to ONNX (empty cache only): {export:.1f} s; threads: {args.threads}\n")
    print("| model | items | throughput | median per batch of 16 | p99 per batch |")
    print("| --- | --- | --- | --- | --- |")
    print(row("efficientnet-lite0 (640x480 JPEG)", len(paths), image_times))
    print(row("minilm (12-word texts)", len(texts), text_times))
    ratio = (len(texts) / sum(text_times)) / (len(paths) / sum(image_times))
    print(f"\ntext/image throughput ratio: {ratio:.1f}x")
    print(f"reading the files (decode, resize, crop): {reading / sum(image_times):.0%} of it")


if __name__ == "__main__":
    main()
