"""Every source of the hybrid (content, collaborative, popular, fresh, exploration) keeps to
`where` and `exclude`, whatever the filter; a seeded run gives the same list twice."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from likewise import Engine, Settings
from likewise.filters import matches, parse_where
from likewise.testing.contract import filters

ALL_SOURCES = {"content": 0.5, "collaborative": 1.0, "popular": 0.3, "fresh": 0.3}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    rng = random.Random(4)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for k in range(60):
        row: dict[str, Any] = {
            "id": f"i{k}",
            "title": f"item {k} about {rng.choice(['space', 'food', 'art'])}",
            "published_at": (now - timedelta(days=rng.randrange(30))).isoformat(),
        }
        for field in ("f", "g"):
            if rng.random() < 0.8:
                row[field] = rng.choice(["a", "b", "c", 1, 2, 2.5, True, "2026-01-01"])
        row["tags"] = rng.sample(["a", "b", "c"], rng.randrange(3))
        rows.append(row)
    settings_ = Settings(cache_size=0, hybrid_weights=ALL_SOURCES, exploration=0.3)
    path = tmp_path_factory.mktemp("sources") / "d"
    eng = Engine.open(str(path), model="hashing-64", settings=settings_)
    eng.add_items(rows)
    for u in range(12):
        for _ in range(6):
            eng.record(f"u{u}", f"i{rng.randrange(60)}", rng.choice(["like", "click", "view"]))
    eng.train()
    reasons = {r.reason.split()[0] for r in eng.recommend("u0", n=20, strategy="hybrid").items}
    assert len(reasons) >= 2, reasons  # the sources under test really answer
    yield eng
    eng.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    where=st.one_of(st.none(), filters),
    exclude=st.lists(st.sampled_from([f"i{k}" for k in range(60)]), max_size=8),
    user=st.sampled_from(["u0", "u3", "u7", "nobody"]),
    diversity=st.sampled_from([0.0, 0.4]),
)
def test_no_source_breaks_where_or_exclude(
    engine: Engine, where: Any, exclude: list[str], user: str, diversity: float
) -> None:
    node = parse_where(where)
    first = engine.recommend(
        user, n=8, strategy="hybrid", where=where, exclude=exclude, diversity=diversity
    )
    records = {i.id: i for i in engine.get_many([r.id for r in first.items])}
    for r in first.items:
        assert r.id not in exclude
        item = records[r.id]
        assert matches(node, {**item.metadata, "tags": list(item.tags)}), (r.id, where)
    again = engine.recommend(
        user, n=8, strategy="hybrid", where=where, exclude=exclude, diversity=diversity
    )
    assert [r.id for r in again.items] == [r.id for r in first.items]  # seeded: reproducible
