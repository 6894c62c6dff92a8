"""Requests at the edges of the ranker's reads: an empty filter is no filter."""

from __future__ import annotations

from pathlib import Path

from likewise import Engine, Settings


def test_an_empty_where_is_no_filter_for_a_hybrid_list(tmp_path: Path) -> None:
    with Engine.open(str(tmp_path), model="hashing-64", settings=Settings(cache_size=0)) as e:
        e.add_items(
            [{"id": f"i{k}", "title": f"item {k}", "category": "ab"[k % 2]} for k in range(12)]
        )
        for user in ("u1", "u2", "u3"):
            for k in range(0, 12, 2 if user == "u1" else 1):
                e.record(user, f"i{k}", "like")
        e.record("me", "i0", "like")
        assert e.train()["items"] > 0
        plain = e.recommend("me", n=5, strategy="hybrid", track=False)
        empty = e.recommend("me", n=5, strategy="hybrid", where={}, track=False)
        assert [r.id for r in empty.items] == [r.id for r in plain.items]
        assert any(r.reason != "matches your interests" for r in plain.items)
