"""Ingest throughput through the Engine, against a bare onnxruntime session on the same texts.

The baseline is what a person writes by hand: tokenise in batches of 32 (padding to the
longest), run the session, mean-pool over the mask, normalise. likewise does the same and
also validates, hashes, writes SQLite durably and updates the index. A second ingest of the
unchanged catalog shows what content hashing saves.

    python bench/embed.py [--limit N] [--repeat 3]
"""

from __future__ import annotations

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None, help="first N MovieLens-1M titles")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
