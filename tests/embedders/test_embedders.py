"""The packaged MiniLM model, run for real, and the hashing embedder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from tokenizers import Tokenizer

from likewise import Engine, HashingEmbedder
from likewise.datasets import movielens_items
from likewise.embedders.onnx import MiniLMEmbedder, minilm_files


def test_minilm_vectors_are_unit_and_meaningful(minilm: MiniLMEmbedder) -> None:
    texts = ["a cat sits on the mat", "a kitten rests on a rug", "stock markets fell today"]
    vectors = minilm.embed(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > 0.5 > sims[0, 2]


def test_minilm_matches_a_bare_onnx_run_in_any_order(minilm: MiniLMEmbedder) -> None:
    texts = ["short", "a somewhat longer sentence about films", "mid length text"]
    model, tok_path = minilm_files()
    tokenizer = Tokenizer.from_file(str(tok_path))
    tokenizer.no_padding()  # the file pads to 128; one text at a time needs no padding
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    for i, text in enumerate(texts):
        enc = tokenizer.encode(text)
        ids = np.array([enc.ids], dtype=np.int64)
        mask = np.array([enc.attention_mask], dtype=np.int64)
        states = session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        mean = states[0].mean(axis=0)
        expected = mean / np.linalg.norm(mean)
        assert np.allclose(minilm.embed(texts)[i], expected, atol=1e-4)


def test_hashing_embedder_is_deterministic() -> None:
    a = HashingEmbedder(16).embed(["Moon rocket", "moon ROCKET", "pasta"])
    assert np.allclose(a[0], a[1])
    assert a[0] @ a[2] < 0.99
    assert np.allclose(a, HashingEmbedder(16).embed(["Moon rocket", "moon ROCKET", "pasta"]))


@pytest.mark.slow
def test_real_movielens_titles_find_their_sequels(tmp_path: Path, minilm: MiniLMEmbedder) -> None:
    catalog = movielens_items("ml-1m")
    assert len(catalog) == 3883
    # Every animated and sci-fi film (a few hundred), so the neighbours have competition.
    subset = [r for r in catalog if {"Animation", "Sci-Fi"} & set(r["tags"])]
    with Engine.open(str(tmp_path), embedder=minilm) as engine:
        engine.add_items(subset)
        related = [h.id for h in engine.similar("Toy Story (1995)", n=5)]
        assert related[0] == "Toy Story 2 (1999)"
        jedi = [h.id for h in engine.similar("Star Wars: Episode IV - A New Hope (1977)", n=3)]
        assert "Star Wars: Episode V - The Empire Strikes Back (1980)" in jedi
        found = engine.search("space adventure for kids", n=10, where={"tags": "Children's"})
        assert found and all("Children's" in engine.get(h.id).tags for h in found)
