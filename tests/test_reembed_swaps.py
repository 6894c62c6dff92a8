"""Reembed and the other processes: writes in one that has not noticed a swap, a swap during an
ingest, and what each PostgreSQL swap leaves behind (helpers from tests/test_reembed.py)."""

from __future__ import annotations

import psycopg
import pytest
from tests.test_reembed import BATCH, Counting, _check_new_model, _fill, _open

from likewise import Engine, Settings
from likewise.embedders.hashing import HashingEmbedder


def test_writes_in_a_process_that_has_not_noticed_the_swap_use_the_new_model(
    location: str,
) -> None:
    """The reader last looked before the writer's swap (a PostgreSQL store trusts its view of
    the model for a few seconds): its items and onboarding words are still embedded by the
    new model, and related items and "for you" lists answer, with no error."""
    _fill(location)
    with _open(location) as writer, _open(location) as reader:
        assert reader.search("moon rocket", n=3) and reader.recommend("u1", n=3).items
        writer.reembed(Counting())
        reader.add_items([{"id": "late", "title": "moon rocket moon"}])
        assert reader.vectors(["late"])["late"] == pytest.approx(
            HashingEmbedder(32).embed(["moon rocket moon"])[0], abs=1e-6
        )
        reader.onboard("u9", text="pasta with tomato")
        assert reader.recommend("u9", n=3).items
        assert reader.similar("i3", n=3, source="content")
        assert reader.recommend("u1", n=3).items
        assert writer.search("moon rocket moon", n=1)[0].id == "late"


def test_a_swap_during_an_ingest_is_followed_before_the_next_write(location: str) -> None:
    """A reembed another engine swaps in while an ingest is embedding: what was embedded by
    the old model is embedded again by the new one before it is written."""
    _fill(location)
    swapped: list[bool] = []
    with _open(location) as writer:

        def swap() -> None:
            if not swapped:
                swapped.append(True)
                writer.reembed(Counting())

        settings = Settings(batch_size=BATCH)
        with Engine.open(location, embedder=Counting(16, during=swap), settings=settings) as old:
            old.add_items([{"id": "late", "title": "a violin on the moon"}])
        assert swapped and writer.stats()["model"] == "hashing-32"
        assert writer.vectors(["late"])["late"] == pytest.approx(
            HashingEmbedder(32).embed(["a violin on the moon"])[0], abs=1e-6
        )
        _check_new_model(writer, 32)


def test_each_postgres_swap_leaves_two_dropped_columns(pg_url: str) -> None:
    """What engine/reembed.py's docstring says of PostgreSQL: a reembed drops the untyped
    shadow column and the old `embedding`; the table keeps both as dropped columns (their
    data stays in the pages of rows not rewritten since) until a rewrite, and a table may
    have had at most 1,600 columns."""

    def dropped() -> int:
        with psycopg.connect(pg_url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_attribute WHERE attrelid = 'items'::regclass "
                "AND attisdropped"
            ).fetchone()
        return int(row[0]) if row else -1

    _fill(pg_url)
    before = dropped()
    with _open(pg_url) as engine:
        engine.reembed(Counting())
        assert dropped() == before + 2
        engine.reembed(Counting(24))
        assert dropped() == before + 4
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("VACUUM FULL items")  # a rewrite frees the data, not the numbers
        assert dropped() == before + 4
        _check_new_model(engine, 24)
