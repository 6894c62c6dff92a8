"""The embedder contract, run on every model the registry builds offline."""

from __future__ import annotations

import pytest

from likewise.embedders import Embedder, HashingEmbedder, get_embedder
from likewise.embedders.onnx import MiniLMEmbedder
from likewise.embedders.registry import KNOWN_MODELS
from likewise.testing import EmbedderContract
from likewise.testing.embedders import LEXICAL


class TestHashingEmbedder(EmbedderContract):
    related = LEXICAL  # it counts shared words; a kitten is not a cat to it

    @pytest.fixture(params=["hashing-64", "hashing-4096"])
    def embedder(self, request: pytest.FixtureRequest) -> Embedder:
        return get_embedder(request.param)


class TestMiniLM(EmbedderContract):
    @pytest.fixture
    def embedder(self, minilm: MiniLMEmbedder) -> Embedder:
        return minilm  # the real packaged model, loaded once per session


def test_every_registry_model_runs_the_contract() -> None:
    # A remote model (`openai:`) runs it against a fake server: test_openai_contract.py.
    local = [name for name in KNOWN_MODELS if not name.startswith("openai:")]
    built = {type(get_embedder(name.replace("<dim>", "64"))) for name in local}
    assert built == {HashingEmbedder, MiniLMEmbedder}  # the classes the suites above run
