"""Values no store can hold are refused by name and change nothing: an id with a lone
surrogate (JSON's `\\udcff` escapes and Python's `surrogateescape` make them; UTF-8, and so
SQLite and PostgreSQL, cannot encode one), and a space too wide for faiss's index sizes (it
was recorded, and every later open of the store died in faiss)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from likewise import Engine
from likewise.errors import ConfigError, InvalidInput
from likewise.store import MAX_DIM, Space, open_store

LONE = "caf\udce9"  # what `surrogateescape` makes of b"caf\xe9"


@pytest.fixture
def engine(location: str) -> Engine:
    eng = Engine.open(location, model="hashing-64")
    eng.add_items([{"id": "a", "title": "a first film"}, {"id": "b", "title": "a second film"}])
    eng.record("u1", "a", "like")
    yield eng
    eng.close()


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda e: e.recommend(LONE, n=2), "user_id"),
        (lambda e: e.record(LONE, "a", "like"), "user_id"),
        (lambda e: e.record("u1", LONE, "like"), "item_id"),
        (lambda e: e.profile(LONE), "user_id"),
        (lambda e: e.forget_user(LONE), "user_id"),
        (lambda e: e.get(LONE), "ids"),
        (lambda e: e.delete(["b", LONE]), "ids"),
        (lambda e: e.add_items([{"id": LONE, "title": "x"}]), "items[0].id"),
    ],
)
def test_an_id_no_database_can_hold_is_refused_by_name_and_changes_nothing(
    engine: Engine, call: object, field: str
) -> None:
    before = engine.stats()
    with pytest.raises(InvalidInput) as refused:
        call(engine)  # type: ignore[operator]
    assert refused.value.field == field
    assert "lone surrogate" in refused.value.reason
    assert engine.stats() == before
    assert engine.get("b").id == "b"
    assert engine.recommend("u1", n=1).items  # the user is still there


def test_a_space_wider_than_an_index_can_be_is_refused_and_the_store_reopens(
    location: str,
) -> None:
    # The widest space each backend's index takes: faiss's sizes, pgvector's HNSW limit.
    widest = 2_000 if location.startswith("postgresql") else MAX_DIM
    engine = Engine.open(location, model="hashing-64")
    try:
        with pytest.raises(InvalidInput) as refused:
            engine.add_space("img", dim=99_999_999_999)
        assert refused.value.field == "dim"
        too_wide = f"must be an integer from 1 to {widest:,}"  # not a StoreUnavailable (503)
        with pytest.raises((InvalidInput, ConfigError), match=too_wide):
            engine.add_space("img", dim=widest + 1)
        engine.add_space("wide", dim=widest)
    finally:
        engine.close()
    store = open_store(location)
    try:
        with pytest.raises(ConfigError, match=f"dim must be an integer from 1 to {widest:,}"):
            store.add_space(Space("img", widest + 1))
        assert "img" not in store.spaces() and "wide" in store.spaces()
    finally:
        store.close()


def test_a_folder_whose_path_is_not_utf8_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    # Linux allows any bytes in a name; Python hands them over as lone surrogates, which faiss
    # cannot take, so the index could never be saved (every close ended in a traceback).
    folder = os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9")
    with pytest.raises(ConfigError, match=r"caf\\xe9: its path is not UTF-8"):
        open_store(folder)
    assert not os.path.exists(folder)


def test_a_relative_folder_inside_a_folder_that_is_not_utf8_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # faiss is handed the path as given: a relative one never holds the working folder's bytes.
    here = os.fsencode(tmp_path) + b"/w\xe9"
    os.mkdir(here)
    monkeypatch.chdir(here)
    with Engine.open("d", model="hashing-64") as eng:
        eng.add_items([{"id": "a", "title": "a first film"}])
    with Engine.open("d", model="hashing-64") as eng:  # the index was saved, and reads back
        assert [hit.id for hit in eng.search("a first film", n=1)] == ["a"]
    assert os.listdir(os.path.join(here, b"d", b"index"))
