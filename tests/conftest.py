"""Shared fixtures: a fast hashing-embedder engine and the real packaged model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from likewise import Engine
from likewise.embedders.onnx import MiniLMEmbedder


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = Engine.open(str(tmp_path / "data"), model="hashing-64")
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()
