"""`EmbedderContract`: the tests every Embedder passes. Subclass it and provide `embedder`.

Example::

    class TestMyEmbedder(EmbedderContract):
        related = LEXICAL  # if it places texts close by the words they share, not by meaning

        @pytest.fixture
        def embedder(self):
            return MyEmbedder()
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from likewise.embedders.base import Embedder, Vectors
from likewise.errors import EmbedderError

__all__ = ["LEXICAL", "RELATED", "EmbedderContract"]

TEXTS = [
    "Rocket reaches the moon",
    "a much longer sentence about a film, its director, and the year it came out",
    "pasta",
    "Pasta with tomato and basil",
]
ODD_TEXTS = {
    "unicode": "café naïve Ærøskøbing 東京タワー Привет 🚀✨",
    "empty": "",
    "blank": " \n\t ",
    "punctuation": "!!! ??? ...",
    "long": "word after word " * 10_000,
}
# (text, one meaning the same, one unrelated): the first pair must be the closer.
RELATED = [
    ("a cat sits on the mat", "a kitten rests on a rug", "stock markets fell today"),
    ("how to bake bread at home", "a recipe for a homemade loaf", "the train leaves at noon"),
]
# The same, for an embedder that knows words and not meanings: the related text shares words.
LEXICAL = [
    ("pasta with tomato sauce", "tomato pasta bake", "rocket launch delayed"),
    ("moon rocket launch", "the rocket reaches the moon", "a recipe for a homemade loaf"),
]


def unit_or_zero(vectors: Vectors) -> bool:
    """Each row has length 1, or is all zeros (a text the model finds nothing in)."""
    norms = np.linalg.norm(vectors, axis=1)
    return bool(np.all(np.isclose(norms, 1.0, atol=1e-4) | (norms == 0)))


class EmbedderContract:
    """Behaviour every embedder must show; subclasses provide an `embedder` fixture."""

    related: ClassVar[list[tuple[str, str, str]]] = RELATED  # what "closer" means here
    tolerance: ClassVar[float] = 1e-4  # batching may reorder float sums (padding, threads)

    @pytest.fixture
    def embedder(self) -> Embedder:
        raise NotImplementedError("subclasses provide an embedder fixture")

    def test_model_id_and_dim_are_set(self, embedder: Embedder) -> None:
        assert isinstance(embedder.model_id, str) and embedder.model_id
        assert isinstance(embedder.dim, int) and embedder.dim > 0
        assert isinstance(embedder.batch_size, int) and embedder.batch_size > 0
        assert embedder.model_id in repr(embedder)

    def test_rows_are_float32_unit_vectors_of_dim(self, embedder: Embedder) -> None:
        vectors = embedder.embed(TEXTS)
        assert vectors.dtype == np.float32
        assert vectors.shape == (len(TEXTS), embedder.dim)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)

    def test_no_texts_give_no_rows(self, embedder: Embedder) -> None:
        vectors = embedder.embed([])
        assert vectors.shape == (0, embedder.dim) and vectors.dtype == np.float32

    def test_the_same_text_gives_the_same_vector(self, embedder: Embedder) -> None:
        first = embedder.embed(TEXTS)
        again = embedder.embed([*TEXTS, TEXTS[0]])
        assert np.allclose(first, again[: len(TEXTS)], atol=self.tolerance)
        assert np.allclose(again[0], again[-1], atol=self.tolerance)

    def test_different_texts_give_different_vectors(self, embedder: Embedder) -> None:
        vectors = embedder.embed(TEXTS)
        sims = vectors @ vectors.T
        assert np.all(sims[~np.eye(len(TEXTS), dtype=bool)] < 0.999)

    def test_rows_follow_the_order_of_the_texts(self, embedder: Embedder) -> None:
        forward = embedder.embed(TEXTS)
        backward = embedder.embed(TEXTS[::-1])
        assert np.allclose(forward, backward[::-1], atol=self.tolerance)

    def test_batches_give_the_rows_one_by_one_would(self, embedder: Embedder) -> None:
        # One more text than a batch holds, so a batch boundary is crossed.
        texts = [f"{TEXTS[i % len(TEXTS)]} number {i}" for i in range(embedder.batch_size + 1)]
        together = embedder.embed(texts)
        alone = np.vstack([embedder.embed([text]) for text in texts])
        assert np.allclose(together, alone, atol=self.tolerance)

    @pytest.mark.parametrize("kind", list(ODD_TEXTS))
    def test_odd_text_embeds_or_fails_as_documented(self, embedder: Embedder, kind: str) -> None:
        try:
            vectors = embedder.embed([ODD_TEXTS[kind], "pasta"])
        except EmbedderError:
            return  # the documented failure: a model may refuse a text it cannot embed
        assert vectors.shape == (2, embedder.dim) and vectors.dtype == np.float32
        assert np.all(np.isfinite(vectors)) and unit_or_zero(vectors)
        assert np.allclose(vectors[1], embedder.embed(["pasta"])[0], atol=self.tolerance)

    @given(text=st.text(max_size=200))
    @settings(
        max_examples=25,
        deadline=None,
        # The fixture is one embedder with no state between calls: reusing it is the point.
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def test_any_text_gives_one_finite_unit_or_zero_row(
        self, embedder: Embedder, text: str
    ) -> None:
        vectors = embedder.embed([text])
        assert vectors.shape == (1, embedder.dim)
        assert np.all(np.isfinite(vectors)) and unit_or_zero(vectors)

    def test_related_texts_are_closer_than_unrelated_ones(self, embedder: Embedder) -> None:
        for triple in self.related:
            a, similar, unrelated = embedder.embed(list(triple))
            assert float(a @ similar) > float(a @ unrelated), triple
