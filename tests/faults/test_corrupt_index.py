"""A damaged index snapshot on open: rebuilt from the records, with a warning, same answers.

The embedded store keeps each space's index as a pair of files (`hnsw.faiss`, `state.pkl`)
sealed by one digest. Whatever happened to them (a crash, a full disk, a careless copy), the
rows in SQLite are the truth: the store must notice, say so, and answer as before.
"""

from __future__ import annotations

import logging
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from likewise import Engine

CATALOG = [
    {"id": f"i{k}", "title": f"{['red', 'green', 'blue'][k % 3]} item number {k}", "n": k}
    for k in range(300)
]
QUERIES = ["red item", "green number 7", "blue 42", "item 150"]
OWN = "own"  # a second space, saved in its own folder (index-own)
SPACE_LOG = "likewise.store.embedded.space"
Answers = list[list[tuple[str, float]]]


def _own_vectors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {i["id"]: rng.standard_normal(8).astype(np.float32) for i in CATALOG}


def _answers(engine: Engine) -> Answers:
    """What searches in both spaces answer (ids and scores), filtered and not."""
    probe = _own_vectors()["i3"] + 0.1
    hits = [engine.search(q, n=10) for q in QUERIES]
    hits += [engine.search("item", n=10, where={"n": {"gte": 200}})]
    hits += [engine.search_vector(probe, n=10, space=OWN)]
    return [[(h.id, round(h.score, 5)) for h in found] for found in hits]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Answers]:
    """A store with a snapshot of both spaces on disk, and what it answered (made once)."""
    data = tmp_path_factory.mktemp("template") / "data"
    with Engine.open(str(data), model="hashing-64") as engine:
        engine.add_items(CATALOG)
        engine.add_space(OWN, 8)
        engine.put_vectors(OWN, _own_vectors())
        engine.delete(["i5", "i6"])  # dead labels: the state's live mask matters
        answers = _answers(engine)
    for folder in ("index", f"index-{OWN}"):
        assert (data / folder / "hnsw.faiss").stat().st_size > 0
        assert (data / folder / "state.pkl").stat().st_size > 0
    return data, answers


@pytest.fixture
def saved(template: tuple[Path, Answers], tmp_path: Path) -> tuple[Path, Answers]:
    """A copy of the template store of this test's own, to damage."""
    data = tmp_path / "data"
    shutil.copytree(template[0], data)
    return data, template[1]


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(1).bytes(path.stat().st_size))


def _flip(path: Path) -> None:
    """One byte changed in the middle: the file still parses, only the digest can tell."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x55
    path.write_bytes(bytes(data))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _missing(path: Path) -> None:
    path.unlink()


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": _truncate,
    "garbage": _garbage,
    "one-byte-flipped": _flip,
    "zero-length": _empty,
    "missing": _missing,
}


@pytest.mark.parametrize("folder", ["index", f"index-{OWN}"])
@pytest.mark.parametrize("name", ["hnsw.faiss", "state.pkl"])
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_snapshot_file_is_rebuilt_with_a_warning(
    saved: tuple[Path, Answers],
    caplog: pytest.LogCaptureFixture,
    folder: str,
    name: str,
    damage: str,
) -> None:
    data, answers = saved
    DAMAGE[damage](data / folder / name)
    with caplog.at_level(logging.WARNING, logger=SPACE_LOG):
        engine = Engine.open(str(data), model="hashing-64")
    try:
        warnings = [r.getMessage() for r in caplog.records if r.name == SPACE_LOG]
        assert len(warnings) == 1, warnings
        assert str(data / folder) in warnings[0] and "rebuilding" in warnings[0]
        assert engine.count() == len(CATALOG) - 2
        assert _answers(engine) == answers
    finally:
        engine.close()
    _opens_quietly(data, answers, caplog)


def test_a_pair_not_written_together_is_rebuilt(
    saved: tuple[Path, Answers], caplog: pytest.LogCaptureFixture
) -> None:
    """A crash between the two renames of a save leaves a new graph beside an old state."""
    data, _ = saved
    old_state = (data / "index" / "state.pkl").read_bytes()
    with Engine.open(str(data), model="hashing-64") as engine:
        engine.add_items([{"id": "late", "title": "red late item"}])
        answers = _answers(engine)
    (data / "index" / "state.pkl").write_bytes(old_state)
    with caplog.at_level(logging.WARNING, logger=SPACE_LOG):
        engine = Engine.open(str(data), model="hashing-64")
    try:
        warnings = [r.getMessage() for r in caplog.records if r.name == SPACE_LOG]
        assert len(warnings) == 1 and "digest" in warnings[0], warnings
        assert engine.count() == len(CATALOG) - 1
        assert _answers(engine) == answers
    finally:
        engine.close()


def test_a_snapshot_from_before_digests_is_still_used(
    saved: tuple[Path, Answers], caplog: pytest.LogCaptureFixture
) -> None:
    """Stores saved by an older likewise keep opening without a rebuild or a warning."""
    data, answers = saved
    state_file = data / "index" / "state.pkl"
    sealed = pickle.loads(state_file.read_bytes())
    state = pickle.loads(sealed["payload"])
    state["ids"] = ["renamed"] * len(state["ids"])  # used, so it shows in the answers
    state_file.write_bytes(pickle.dumps(state))
    with caplog.at_level(logging.WARNING, logger=SPACE_LOG), Engine.open(str(data)) as engine:
        hits = engine.search(QUERIES[0], n=3)
    assert [r for r in caplog.records if r.name == SPACE_LOG] == []
    assert {h.id for h in hits} == {"renamed"}, "the unsealed snapshot was not used"
    state_file.unlink()
    (data / "index" / "hnsw.faiss").unlink()
    with Engine.open(str(data)) as engine:
        assert _answers(engine) == answers


def _opens_quietly(data: Path, answers: Answers, caplog: pytest.LogCaptureFixture) -> None:
    """The snapshot written at the last close is whole: the next open trusts it."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=SPACE_LOG), Engine.open(str(data)) as engine:
        assert _answers(engine) == answers
    assert [r.getMessage() for r in caplog.records if r.name == SPACE_LOG] == []
