"""The embedder contract, run on the OpenAI-compatible embedder against the fake server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.fake_openai import FakeOpenAI, fake_openai

from likewise.embedders import Embedder
from likewise.embedders.openai import OpenAIEmbedder
from likewise.testing import EmbedderContract
from likewise.testing.embedders import LEXICAL


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with fake_openai() as fake:
        yield fake


class TestOpenAIEmbedder(EmbedderContract):
    related = LEXICAL  # the fake's vectors hash words, as HashingEmbedder does

    @pytest.fixture(params=[1, 3], ids=["one-request-at-a-time", "three-in-flight"])
    def embedder(self, server: FakeOpenAI, request: pytest.FixtureRequest) -> Embedder:
        # Small batches, so the contract's batch boundary means several requests.
        return OpenAIEmbedder(
            "text-embedding-3-small",
            base_url=server.url,
            dimensions=128,
            batch_size=4,
            concurrency=request.param,
        )
