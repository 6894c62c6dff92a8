"""A real store (hashing embedder) behind the real app, through Starlette's TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from likewise import Engine, Settings
from likewise.service import create_app

CATALOG = [
    {"id": "space1", "title": "Rocket reaches the moon", "tags": ["space"], "category": "news"},
    {"id": "space2", "title": "Moon rocket launch delayed", "tags": ["space"], "category": "news"},
    {"id": "food1", "title": "Pasta with tomato sauce", "tags": ["food"], "category": "recipes"},
    {"id": "food2", "title": "Tomato pasta bake", "tags": ["food"], "category": "recipes"},
]
READ, WRITE = "read-key-123", "write-key-456"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = Engine.open(str(tmp_path / "data"), model="hashing-64")
    eng.add_items(CATALOG)
    yield eng
    eng.close()


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(max_body_bytes=50_000), engine=engine)) as c:
        yield c


@pytest.fixture
def secured(engine: Engine) -> Iterator[TestClient]:
    settings = Settings(read_keys=[READ], write_keys=[WRITE])
    with TestClient(create_app(settings, engine=engine)) as c:
        yield c


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def must_differ(body: Any, path: str) -> list[Any] | None:
    """What must differ within the body of `path`: a batch's item ids, an experiment's
    variant names (before each `:`)."""
    if path == "/v1/items:batch" and isinstance(body, list):
        return [item.get("id") for item in body if isinstance(item, dict)]
    if path == "/v1/experiments" and isinstance(body, dict):
        variants = body.get("variants")
        if isinstance(variants, list):
            return [v.partition(":")[0] for v in variants if isinstance(v, str)]
    return None
