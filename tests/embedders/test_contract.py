"""The embedder contract, run on every built-in the registry lists, each built through its
entry point by name: the packaged MiniLM, the hashing model and the OpenAI-compatible one
against the fake server (tests/fake_openai.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.embedders import test_image, test_multilingual
from tests.fake_openai import FakeOpenAI, fake_openai

from likewise.config.embedding import EmbeddingConfig
from likewise.embedders import Embedder, HashingEmbedder, get_embedder
from likewise.embedders.image import ImageEmbedder
from likewise.embedders.multilingual import MultilingualE5Embedder
from likewise.embedders.onnx import MiniLMEmbedder
from likewise.embedders.openai import OpenAIEmbedder
from likewise.embedders.registry import installed, listed
from likewise.embedders.vectors import OwnVectors
from likewise.errors import Conflict
from likewise.testing import EmbedderContract
from likewise.testing.embedders import LEXICAL


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with fake_openai() as fake:
        yield fake


def settings(server: FakeOpenAI) -> EmbeddingConfig:
    """The remote model's settings, pointed at the fake server; small requests, so the
    contract's batch boundary means several of them, two in flight."""
    return EmbeddingConfig(
        openai_base_url=server.url, openai_batch_size=4, openai_concurrency=2, openai_retries=0
    )


class TestHashing(EmbedderContract):
    related = LEXICAL  # it counts shared words; a kitten is not a cat to it

    @pytest.fixture(params=["hashing", "hashing-4096"])
    def embedder(self, request: pytest.FixtureRequest) -> Embedder:
        return get_embedder(request.param)


@pytest.fixture(scope="module")
def minilm_by_name() -> Embedder:
    return get_embedder("minilm")  # its weights load on first use, once for the module


class TestMiniLM(EmbedderContract):
    @pytest.fixture
    def embedder(self, minilm_by_name: Embedder) -> Embedder:
        return minilm_by_name


class TestOpenAI(EmbedderContract):
    related = LEXICAL  # the fake's vectors hash words, as the hashing model does

    @pytest.fixture
    def embedder(self, server: FakeOpenAI) -> Embedder:
        return get_embedder("openai:text-embedding-3-small@128", embedding=settings(server))


class TestOwnVectors:
    """`vectors:<dim>` makes no vectors (the items bring them), so it is no model for the
    contract: what it must do instead, refuse words naming `text`, is checked here, and the
    stores it makes in tests/test_vectors_model.py."""

    def test_it_is_built_by_name_and_refuses_words(self) -> None:
        model = get_embedder("vectors:16")
        assert isinstance(model, OwnVectors) and (model.model_id, model.dim) == ("vectors:16", 16)
        assert model.embed([]).shape == (0, 16)
        with pytest.raises(Conflict, match="no text model") as refused:
            model.embed(["moon"])
        assert refused.value.field == "text"


# The entry points of likewise's own distribution, and the suite above that runs each.
SUITES = {
    "minilm": TestMiniLM,
    "all-MiniLM-L6-v2-onnx-int8": TestMiniLM,  # the name stores record for minilm
    "hashing": TestHashing,
    "openai": TestOpenAI,
    "multilingual": test_multilingual.TestMultilingualE5,  # in test_multilingual.py
    "multilingual-e5-small-q4": test_multilingual.TestMultilingualE5,  # the id stores record
    # Paths, not texts: the image model runs its own contract for images (test_image.py).
    "image": test_image.TestImageEmbedder,
    "efficientnet-lite0": test_image.TestImageEmbedder,  # the id stores record
    "vectors": TestOwnVectors,  # no model: the items bring their text vectors
}
CLASSES = {
    TestMiniLM: MiniLMEmbedder,
    TestHashing: HashingEmbedder,
    TestOpenAI: OpenAIEmbedder,
    test_multilingual.TestMultilingualE5: MultilingualE5Embedder,
    test_image.TestImageEmbedder: ImageEmbedder,
    TestOwnVectors: OwnVectors,
}


def test_every_built_in_runs_the_contract() -> None:
    # A new built-in (an entry point in likewise's pyproject.toml) fails here until a suite
    # above runs it.
    own = {key for key, claims in installed().items() if claims[0].distribution == "likewise"}
    assert own == set(SUITES)


def test_every_listed_built_in_name_builds_what_its_suite_runs(server: FakeOpenAI) -> None:
    """Each concrete name `likewise models` lists for likewise builds the class its suite
    runs, with the dimension listed, and its model id (what a store records) builds it again."""
    asked = len(server.requests)
    rows = [row for row in listed() if row.distribution == "likewise"]
    concrete = [row for row in rows if "<" not in row.name]
    assert len(concrete) >= 5 and {row.plugin for row in rows} == {
        "minilm",
        "hashing",
        "openai",
        "multilingual",
        "image",
        "vectors",
    }
    for row in concrete:
        embedder = get_embedder(row.name, embedding=settings(server))
        assert isinstance(embedder, CLASSES[SUITES[row.plugin]]), row
        assert embedder.dim == row.dim, row
        again = get_embedder(embedder.model_id, embedding=settings(server))
        assert (type(again), again.model_id, again.dim) == (
            type(embedder),
            embedder.model_id,
            row.dim,
        )
    assert len(server.requests) == asked  # the listed dimensions are known without a request
