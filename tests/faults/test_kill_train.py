"""kill -9 during `likewise train`: the store opens, the model served is the one trained
before (or none), never a mix of two trainings, and the next `train` completes.

`likewise -v train` logs when it starts fitting; the test kills it (SIGKILL) right then, in
the seconds of numpy work before anything is written. A second test kills a training in the
middle of writing its bundle, the narrow window where a half bundle could be left behind.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from likewise import Engine
from likewise.retrieval.models import BEHAVIOUR, BLOBS
from likewise.store import open_store

N_ITEMS, N_USERS, PER_USER = 1_200, 300, 20
TRAIN = [sys.executable, "-m", "likewise.cli.main", "-v", "--data"]


def _events(seed: int) -> list[dict[str, str]]:
    rng = np.random.default_rng(seed)
    return [
        {"user_id": f"u{u}", "item_id": f"i{rng.integers(N_ITEMS)}", "type": "click"}
        for u in range(N_USERS)
        for _ in range(PER_USER)
    ]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A catalog and an event log that take a few seconds to fit (EASE over ~1,200 items)."""
    folder = tmp_path / "data"
    with Engine.open(str(folder), model="hashing-64") as engine:
        engine.add_items(
            [{"id": f"i{k}", "title": f"item {k} in group {k % 40}"} for k in range(N_ITEMS)]
        )
        engine.record_many(_events(0))
    return folder


def _bundle(data: Path) -> dict[str, str | None]:
    """A digest of each stored blob of the trained bundle, as a new process reads them."""
    store = open_store(str(data))
    try:
        blobs = {name: store.get_blob(name) for name in BLOBS}
    finally:
        store.close()
    return {k: None if b is None else hashlib.sha256(b).hexdigest() for k, b in blobs.items()}


def _behaviour(data: Path) -> tuple[int, str]:
    """How many items the behaviour space holds, and a digest of their vectors."""
    with Engine.open(str(data)) as engine:
        if BEHAVIOUR not in engine.stats()["spaces"]:
            return 0, ""
        found = engine.vectors([f"i{k}" for k in range(N_ITEMS)], space=BEHAVIOUR)
    digest = hashlib.sha256(b"".join(i.encode() + v.tobytes() for i, v in sorted(found.items())))
    return len(found), digest.hexdigest()


def _kill_train_when_fitting(data: Path) -> None:
    with subprocess.Popen([*TRAIN, str(data), "train"], stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stderr is not None
        seen = []
        deadline = time.monotonic() + 120
        for line in proc.stderr:
            seen.append(line)
            if "likewise.training:fitting" in line or time.monotonic() > deadline:
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"not killed while fitting: {''.join(seen)}"
    assert not any("likewise.training:fitted" in line for line in seen)


def _train(data: Path) -> None:
    done = subprocess.run([*TRAIN, str(data), "train"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def _version(data: Path) -> str | None:
    with Engine.open(str(data)) as engine:
        model = engine.model()
        assert engine.recommend("u1", n=5).items  # the store serves either way
        return None if model is None else str(model["version"])


@pytest.mark.slow
def test_kill_9_while_fitting_keeps_the_previous_model(data: Path) -> None:
    # The first training killed: nothing was trained, nothing is served.
    _kill_train_when_fitting(data)
    assert _version(data) is None
    assert _bundle(data) == dict.fromkeys(BLOBS)
    assert _behaviour(data) == (0, "")

    _train(data)
    first = _version(data)
    assert first is not None
    bundle, behaviour = _bundle(data), _behaviour(data)
    assert behaviour[0] == N_ITEMS

    # A later training killed: the first one is served, whole, with its behaviour space.
    with Engine.open(str(data)) as engine:
        engine.record_many(_events(1))
    _kill_train_when_fitting(data)
    assert _version(data) == first
    assert _bundle(data) == bundle
    assert _behaviour(data) == behaviour

    _train(data)  # and the next one completes
    second = _version(data)
    assert second not in (None, first)
    assert all(_bundle(data)[name] != bundle[name] for name in ("model.meta", "item-item"))


# Writes the bundle with SQL that kills the process once `argv[2]` of its blobs are written
# (inside the bundle's transaction, not yet committed).
_DIES_WRITING = textwrap.dedent(
    """
    import os, signal, sys
    from likewise import Engine
    from likewise.store.sql.query import Sql

    executemany = Sql.executemany

    def dying(self, query, rows):
        if "INSERT INTO blobs" not in query:
            return executemany(self, query, rows)
        rows = list(rows)
        executemany(self, query, rows[: int(sys.argv[2])])
        os.kill(os.getpid(), signal.SIGKILL)

    Sql.executemany = dying
    with Engine.open(sys.argv[1]) as engine:
        engine.train()
    """
)


@pytest.mark.slow
def test_kill_9_while_writing_the_bundle_keeps_the_previous_model(data: Path) -> None:
    _train(data)
    first, bundle = _version(data), _bundle(data)
    with Engine.open(str(data)) as engine:
        engine.record_many(_events(1))
    died = subprocess.run(
        [sys.executable, "-c", _DIES_WRITING, str(data), "2"], capture_output=True, timeout=300
    )
    assert died.returncode == -signal.SIGKILL, died.stderr
    assert _version(data) == first
    assert _bundle(data) == bundle, "a half bundle: parts of two trainings"
