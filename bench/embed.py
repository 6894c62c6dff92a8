"""Embedding throughput, three sections in one run (`--only` picks some):

- `ingest`: ingest through the Engine against a bare onnxruntime session on the same texts.
  The baseline is what a person writes by hand: tokenise in batches of 32 (padding to the
  longest), run the session, mean-pool over the mask, normalise. likewise does the same and
  also validates, hashes, writes SQLite durably and updates the index. A second ingest of
  the unchanged catalog shows what content hashing saves.
- `models`: the models side by side, with the packaged text model (MiniLM) as the baseline:
  the OpenAI-compatible embedder against the fake server (tests/fake_openai.py, in its own
  process, `--latency` per request, 50 ms by default) at `--concurrency` 1, 4 and 16
  (bench/remote_embedder.py's run), and EfficientNet-Lite0 on photo-sized JPEGs
  (bench/images.py's, `--threads` cores; needs likewise[images]). Items/s, the median and
  p99 time per batch (a request of `--batch-size` texts for the remote one, 16 items for
  the local ones), and each one's throughput over MiniLM's.

    python -P bench/embed.py [--limit N] [--repeat 3] [--only ingest,models]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds http.py: first on sys.path it would shadow the standard library's `http`
# (`python -P` leaves it off); its modules are still imported, from the end of the path.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)
sys.path.append(str(Path(__file__).resolve().parent))

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from likewise import Engine
from likewise.datasets import movielens_items
from likewise.embedders.onnx import MAX_TOKENS, minilm_files
from likewise.items import ContentTemplate, parse_item


def bare_session(texts: list[str]) -> np.ndarray:  # type: ignore[type-arg]
    model, tokenizer_path = minilm_files()
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.enable_padding()
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    out = []
    for start in range(0, len(texts), 32):
        enc = tokenizer.encode_batch(texts[start : start + 32])
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        states = session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        pooled = (states * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
    return np.concatenate(out)


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def ingest_section(args: argparse.Namespace) -> None:
    records = movielens_items("ml-1m")[: args.limit]
    template = ContentTemplate()
    texts = [template.render(parse_item(r)) for r in records]
    n = len(records)

    def ingest_fresh() -> None:
        folder = tempfile.mkdtemp(prefix="likewise-embed-")
        try:
            with Engine.open(folder, model="minilm") as engine:
                engine.add_items(records)
        finally:
            shutil.rmtree(folder)

    bare = timed(lambda: bare_session(texts), args.repeat)
    ours = timed(ingest_fresh, args.repeat)
    folder = tempfile.mkdtemp(prefix="likewise-embed-")
    try:
        with Engine.open(folder, model="minilm") as engine:
            engine.add_items(records)
            again = timed(lambda: engine.add_items(records), args.repeat)
    finally:
        shutil.rmtree(folder)

    base = statistics.median(bare)
    print(f"\n## Ingest of {n:,} MovieLens-1M titles (median and worst of {args.repeat} runs)")
    print("| run | median s | worst s | items/s | time vs bare session |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, runs in (
        ("bare onnxruntime session (baseline)", bare),
        ("likewise ingest, new store", ours),
        ("likewise re-ingest, unchanged", again),
    ):
        med = statistics.median(runs)
        print(f"| {name} | {med:.3f} | {max(runs):.3f} | {n / med:,.0f} | {med / base:.3f}x |")
    print(
        f"\nre-ingest speed-up over first ingest: "
        f"{statistics.median(ours) / statistics.median(again):.0f}x"
    )


def stats(name: str, setting: str, count: int, times: list[float]) -> dict[str, object]:
    """One row: items/s over the whole run, and the median and p99 ms per batch."""
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "name": name,
        "setting": setting,
        "rate": count / sum(times),
        "median": statistics.median(times) * 1000,
        "p99": p99 * 1000,
    }


def models_section(args: argparse.Namespace) -> None:
    import remote_embedder
    from images import BATCH, per_batch, photos
    from likewise.embedders.onnx import MiniLMEmbedder

    rng = np.random.default_rng(0)
    texts = [
        f"item {k}: a product about topic {k % 37} with words {k * 7919 % 1000}"
        for k in range(args.items)
    ]
    rows = []
    text = MiniLMEmbedder(threads=args.threads, batch_size=BATCH)
    text.embed(texts[:BATCH])  # warm: the session is built on first use
    times = per_batch(text.embed, texts)
    rows.append(stats("minilm (baseline)", f"{args.threads} threads", len(texts), times))
    remote = argparse.Namespace(dim=256, batch_size=args.batch_size, repeat=args.repeat)
    with remote_embedder.fake_server(args.latency) as url:
        for concurrency in args.concurrency:
            r = remote_embedder.run(url, texts, remote, concurrency)
            rows.append(
                {
                    "name": f"openai-compatible, fake at {args.latency * 1000:.0f} ms a request",
                    "setting": f"concurrency {concurrency}",
                    "rate": r["items_s"],
                    "median": r["median_ms"],
                    "p99": r["p99_ms"],
                }
            )
    try:
        from likewise.embedders.image import ImageEmbedder, graph
    except ImportError as exc:
        print(f"images skipped ({exc}): pip install 'likewise[images]'", file=sys.stderr)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            cache = Path(tmp) / "cache"
            graph(cache)  # the one-off export to ONNX, outside the clock
            paths = photos(Path(tmp), args.images, rng)
            image = ImageEmbedder(cache=cache, threads=args.threads)
            image.embed(paths[:BATCH])
            times = per_batch(image.embed, paths)
        rows.append(
            stats("efficientnet-lite0, 640x480 JPEG", f"{args.threads} threads", len(paths), times)
        )
    print(
        f"\n## Embedding models: {len(texts):,} texts ({args.batch_size} a remote request, "
        f"{BATCH} a local batch), {args.images} images; median over {args.repeat} runs for "
        "the remote one"
    )
    print("| model | setting | items/s | median ms per batch | p99 ms per batch | ratio |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    base = float(rows[0]["rate"])  # type: ignore[arg-type]
    for row in rows:
        rate = float(row["rate"])  # type: ignore[arg-type]
        print(
            f"| {row['name']} | {row['setting']} | {rate:,.1f} | {row['median']:,.1f} | "
            f"{row['p99']:,.1f} | {rate / base:.2f}x |"
        )


SECTIONS = {"ingest": ingest_section, "models": models_section}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default=",".join(SECTIONS), help="ingest,models (default)")
    parser.add_argument("--limit", type=int, default=None, help="first N MovieLens-1M titles")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--items", type=int, default=2000, help="texts for the models section")
    parser.add_argument("--batch-size", type=int, default=64, help="texts per remote request")
    parser.add_argument("--latency", type=float, default=0.05, help="the fake's s per request")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2, help="cores for the local models")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section {unknown[0]!r}; known: {', '.join(SECTIONS)}")
    for name in chosen:
        SECTIONS[name](args)


if __name__ == "__main__":
    main()
