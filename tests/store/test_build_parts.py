"""The parts of a bulk build made cheaper: calibration's exact top-k, a record's hash and
text from one record, the vectors checked at once."""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from likewise.errors import InvalidInput
from likewise.items.model import Item
from likewise.items.records import hash_record, record_text
from likewise.store import Entry, Space
from likewise.store.embedded import calibrate, catalog


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 1,000 labels, 16 ranked in full: a few thousand labels cross many blocks."""
    monkeypatch.setattr(calibrate, "_BLOCK", 1_000)
    monkeypatch.setattr(calibrate, "_SEED", 16)


def _brute(stored: np.ndarray, q: np.ndarray, mask: np.ndarray, k: int) -> list[int]:
    score = np.where(mask, stored @ q, -np.inf)
    return np.argsort(-score, kind="stable")[: min(k, int(mask.sum()))].tolist()


@pytest.mark.usefixtures("small_blocks")
def test_equal_scores_rank_the_lower_label_first() -> None:
    rng = np.random.default_rng(3)
    base = rng.standard_normal((50, 8)).astype(np.float32)
    stored = np.tile(base, (100, 1))  # each vector 100 times, over five blocks: ties
    queries = base[:6] + 0.01 * rng.standard_normal((6, 8)).astype(np.float32)
    masks = [np.ones(len(stored), bool), rng.random(len(stored)) < 0.2]
    flat = SimpleNamespace(vectors=lambda: stored, metric="cosine")
    got = calibrate.exact_top(flat, queries, masks, 10)  # type: ignore[arg-type]
    for mask, found in zip(masks, got, strict=True):
        for q, labels in zip(queries, found, strict=True):
            assert labels.tolist() == _brute(stored, q, mask, 10)


@pytest.mark.usefixtures("small_blocks")
def test_a_k_larger_than_the_seed_still_sees_every_label() -> None:
    rng = np.random.default_rng(7)
    stored = rng.standard_normal((3_000, 8)).astype(np.float32)
    queries = rng.standard_normal((2, 8)).astype(np.float32)
    mask = np.ones(len(stored), bool)
    flat = SimpleNamespace(vectors=lambda: stored, metric="cosine")
    (found,) = calibrate.exact_top(flat, queries, [mask], 40)  # type: ignore[arg-type]
    for q, labels in zip(queries, found, strict=True):  # 40 > the 16 ranked in full
        assert labels.tolist() == _brute(stored, q, mask, 40)


@pytest.mark.usefixtures("small_blocks")
@pytest.mark.parametrize(
    "where_members",
    [
        pytest.param(slice(3_500, 3_512), id="only-in-a-late-block"),
        pytest.param(slice(990, 1_004), id="straddling-two-blocks"),
        pytest.param(slice(0, 4_200, 150), id="fewer-than-k-per-block"),
    ],
)
def test_the_exact_top_of_sparse_masks(where_members: slice) -> None:
    rng = np.random.default_rng(5)
    stored = rng.standard_normal((4_200, 8)).astype(np.float32)
    queries = rng.standard_normal((4, 8)).astype(np.float32)
    mask = np.zeros(len(stored), bool)
    mask[where_members] = True
    masks = [mask, np.ones(len(stored), bool)]
    flat = SimpleNamespace(vectors=lambda: stored.astype(np.float16), metric="euclidean")
    got = calibrate.exact_top(flat, queries, masks, 10)  # type: ignore[arg-type]
    widened = stored.astype(np.float16).astype(np.float32)
    for m, found in zip(masks, got, strict=True):
        for q, labels in zip(queries, found, strict=True):
            score = np.where(m, -np.linalg.norm(widened - q, axis=1), -np.inf)
            want = np.argsort(-score, kind="stable")[: min(10, int(m.sum()))]
            assert labels.tolist() == want.tolist()


def test_the_hash_and_the_text_of_a_record_are_those_of_the_item() -> None:
    item = Item(id="é", title="t", metadata={"z": 1, "a": ["ü", {"y": 2, "b": 3}]})
    record = item.to_record()
    sorted_text = json.dumps(record, sort_keys=True, ensure_ascii=False)
    assert hash_record(record) == hashlib.sha256(sorted_text.encode()).hexdigest()  # as stored
    assert item.record_hash() == hash_record(record)
    assert record_text(record) == json.dumps(record, ensure_ascii=False)
    assert record_text(record) != json.dumps(record, ensure_ascii=False, sort_keys=True)


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        pytest.param(np.full(4, np.inf, np.float32), "not finite", id="inf-row"),
        pytest.param(np.ones(5, np.float32), "shape", id="wrong-size"),
        pytest.param([1.0, float("nan"), 0.0, 0.0], "not finite", id="a-list"),
        pytest.param(np.ones(4, np.float64) * np.nan, "not finite", id="float64"),
    ],
)
def test_a_bad_vector_among_good_rows_is_named(bad: Any, why: str) -> None:
    space = Space("text", 4, "cosine")
    good = [Entry(Item(id=f"i{k}"), "h", np.ones(4, np.float32)) for k in range(50)]
    entries = [*good[:20], Entry(Item(id="bad"), "h", bad), *good[20:]]
    with pytest.raises(InvalidInput, match=f"item 'bad'.*{why}|{why}.*item 'bad'"):
        catalog.check_entries(space, entries)
    catalog.check_entries(space, good)  # all good: no error
