"""Candidate sources behind the one protocol: each alone, and a new one plugged into a ranker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

import likewise.recommend
from likewise import Engine, InvalidInput, Settings
from likewise.recommend import (
    Candidates,
    Collaborative,
    Exploration,
    Query,
    Ranker,
    Sources,
    default_sources,
)
from likewise.retrieval import ItemItem
from likewise.retrieval.models import Models


def test_every_public_name_is_exported_once() -> None:
    names = likewise.recommend.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert getattr(likewise.recommend, name) is not None
    public = {
        name
        for name, value in vars(likewise.recommend).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }
    assert public == set(names)


def popular_by_rank(query: Query) -> Candidates:
    """A stand-in for the popular source: p0, p1, ... in rank order, minus `exclude`."""
    ranked = [f"p{k}" for k in range(100) if f"p{k}" not in query.exclude]
    return Candidates({i: 100.0 - k for k, i in enumerate(ranked[: query.n])})


def test_exploration_draws_from_the_ten_n_most_popular_per_user_and_day() -> None:
    explore = Exploration(popular_by_rank)
    first = explore(Query("u1", 3, exclude=["p0"]))
    assert explore(Query("u1", 3, exclude=["p0"])) == first  # seeded: the same today
    assert len(first.scores) == 3 and set(first.scores) <= {f"p{k}" for k in range(1, 31)}
    others = {tuple(explore(Query(f"u{k}", 3)).scores) for k in range(2, 8)}
    assert len(others) > 1  # another user, another draw


def test_collaborative_offers_twice_the_candidates_unfiltered() -> None:
    model = ItemItem.fit([["a", f"b{k}"] for k in range(6)] + [["a", "b0"]], k=10)
    models = Models(itemknn=model)
    offer = Collaborative(lambda: models)(Query("u", 2, recent=["a"], exclude=["b5"]))
    assert offer.keep == 2 and len(offer.scores) == 4 and "b5" not in offer.scores
    assert next(iter(offer.scores)) == "b0"  # liked together twice: best first
    assert Collaborative(lambda: None)(Query("u", 2, recent=["a"])) == Candidates({})


@dataclass(frozen=True)
class Editorial:
    """A new source in a few lines: the editors' picks, in their order."""

    picks: tuple[str, ...]

    def __call__(self, query: Query) -> Candidates:
        kept = [i for i in self.picks if i not in query.exclude][: query.n]
        return Candidates({i: 1.0 / (1 + k) for k, i in enumerate(kept)}, keep=query.n)


def test_a_new_source_is_blended_by_the_name_its_weight_has(tmp_path: Path) -> None:
    items = [{"id": f"i{k}", "title": f"rockets {k}", "category": "ab"[k % 2]} for k in range(8)]
    with Engine.open(str(tmp_path / "d"), model="hashing-64") as engine:
        engine.add_items(items)
        engine.record("u1", "i0", "like")
        settings = Settings(cache_size=0)
        standard = default_sources(engine.store, settings.ranking, lambda: None)
        sources = Sources(
            {**standard.blend, "editorial": Editorial(("i7", "i0", "i3", "i5"))},
            standard.popular,
            standard.explore,
        )
        ranker = Ranker(engine.store, settings.ranking, settings.profiles, sources)
        got = ranker.recommend("u1", n=2, strategy="hybrid", weights={"editorial": 1.0})
        assert [r.id for r in got.items] == ["i7", "i3"]  # i0 is seen
        assert got.items[0].because == "i0"
        only_b = ranker.recommend(
            "u1", n=2, strategy="hybrid", weights={"editorial": 1.0}, where={"category": "b"}
        )
        assert [r.id for r in only_b.items] == ["i7", "i3"]
        only_a = ranker.recommend(
            "u1", n=2, strategy="hybrid", weights={"editorial": 1.0}, where={"category": "a"}
        )
        assert only_a.items == []  # the ranker checked `where` for the editors
        with pytest.raises(
            InvalidInput,
            match="known: content, collaborative, ease, sequential, neural, behaviour, popular, "
            "fresh, e",
        ):
            ranker.recommend("u1", n=2, strategy="hybrid", weights={"editors": 1.0})
        with pytest.raises(ValueError, match="content"):
            Sources({"editorial": Editorial(())}, standard.popular, standard.explore)
