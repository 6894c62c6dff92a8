"""The Engine: ingest reports, re-embedding only what changed, model checks, reembed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

import likewise
from likewise import ConfigError, Engine, HashingEmbedder, InvalidInput, NotFound
from likewise.embedders.base import Vectors


class CountingEmbedder(HashingEmbedder):
    """The real hashing embedder, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        super().__init__(64)
        self.texts: list[str] = []

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        self.texts.extend(texts)
        return super().embed_batch(texts)


CATALOG = [
    {
        "id": "a1",
        "title": "Rocket reaches the moon",
        "tags": ["space"],
        "category": "news",
        "published_at": "2026-05-01",
        "in_stock": True,
    },
    {
        "id": "a2",
        "title": "Moon rocket delayed",
        "tags": ["space"],
        "category": "news",
        "published_at": "2025-03-01",
    },
    {"id": "a3", "title": "Pasta with tomato", "tags": ["food"], "category": "recipes"},
]


def test_public_api_is_exported() -> None:
    for name in likewise.__all__:
        assert getattr(likewise, name) is not None
    assert sorted(likewise.__all__) == likewise.__all__


def test_ingest_reports_and_embeds_only_changes(tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    with Engine.open(str(tmp_path), embedder=embedder) as engine:
        report = engine.add_items(CATALOG)
        assert report.as_dict() == {
            "new": 3,
            "changed": 0,
            "unchanged": 0,
            "deleted": 0,
            "embedded": 3,
        }
        embedder.texts.clear()
        again = engine.add_items(CATALOG)
        assert (again.unchanged, again.embedded, embedder.texts) == (3, 0, [])
        edited = [
            {**CATALOG[0], "in_stock": False},  # metadata only: no embedding
            {**CATALOG[1], "title": "Moon rocket launched"},  # content: embedded again
        ]
        report = engine.add_items(edited, delete_missing=True)
        assert (report.changed, report.embedded, report.deleted) == (2, 1, 1)
        assert embedder.texts == ["Moon rocket launched\nspace"]
        assert engine.get("a1").metadata["in_stock"] is False
        with pytest.raises(NotFound):
            engine.get("a3")


def test_similar_with_filters_and_search(engine: Engine) -> None:
    engine.add_items(CATALOG)
    assert [h.id for h in engine.similar("a1")] == ["a2", "a3"]
    where = {"category": "news", "published_at": {"gte": "2026-01-01"}}
    assert engine.similar("a2", where=where)[0].id == "a1"
    assert engine.similar("a1", where={"tags": {"any": ["food"]}})[0].id == "a3"
    assert engine.similar("a1", exclude=["a2"])[0].id == "a3"
    assert engine.search("tomato pasta", n=1)[0].id == "a3"
    vector = engine.store.vector("a3")
    assert engine.search_vector(vector.tolist(), n=1)[0].id == "a3"
    assert engine.count({"category": "news"}) == 2


@pytest.mark.parametrize(
    ("call", "field"),
    [
        pytest.param(lambda e: e.similar("a1", n=0), "n", id="n-zero"),
        pytest.param(lambda e: e.similar("a1", n=True), "n", id="n-bool"),
        pytest.param(lambda e: e.search("  "), "text", id="empty-text"),
        pytest.param(lambda e: e.search_vector([1.0, 2.0]), "vector", id="vector-dim"),
        pytest.param(
            lambda e: e.similar("a1", where={"x": {"near": 1}}), "where.x.near", id="unknown-op"
        ),
        pytest.param(lambda e: e.similar("a1", where={"$xor": []}), "where.$xor", id="bad-$"),
        pytest.param(
            lambda e: e.add_items([{"id": "ok"}, {"title": "no id"}]), "items[1].id", id="no-id"
        ),
        pytest.param(lambda e: e.add_items([{"id": "d"}, {"id": "d"}]), "items[1].id", id="dup-id"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(engine: Engine, call, field) -> None:  # type: ignore[no-untyped-def]
    engine.add_items(CATALOG)
    with pytest.raises(InvalidInput) as info:
        call(engine)
    assert info.value.field == field
    assert engine.count() == 3


def test_missing_item_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFound, match="'nope'"):
        engine.similar("nope")


def test_opening_with_another_model_is_refused_until_reembed(tmp_path: Path) -> None:
    with Engine.open(str(tmp_path), model="hashing-64") as engine:
        engine.add_items(CATALOG)
    with pytest.raises(ConfigError, match="reembed"):
        Engine.open(str(tmp_path), model="hashing-32")
    with pytest.raises(ConfigError, match="metric"):
        Engine.open(str(tmp_path), metric="dot")
    with Engine.open(str(tmp_path)) as engine:
        assert engine.embedder.model_id == "hashing-64"
        assert engine.reembed(HashingEmbedder(32)) == 3
        assert engine.similar("a1")[0].id == "a2"
    with Engine.open(str(tmp_path)) as engine:
        assert engine.stats()["model"] == "hashing-32"
        assert engine.stats()["dim"] == 32


def test_unknown_model_and_metric_list_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="known: minilm"):
        Engine.open(str(tmp_path / "a"), model="bert")
    with pytest.raises(ConfigError, match="known: cosine, dot, euclidean"):
        Engine.open(str(tmp_path / "b"), model="hashing-8", metric="manhattan")


@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean"])
def test_every_metric_ranks_the_same_on_normalised_vectors(tmp_path: Path, metric: str) -> None:
    with Engine.open(str(tmp_path), model="hashing-64", metric=metric) as engine:
        engine.add_items(CATALOG)
        hits = engine.similar("a1")
        assert [h.id for h in hits] == ["a2", "a3"]
        assert hits[0].score > hits[1].score
