"""An add runs in a background thread: the caller goes on at once, every use of the faiss index
waits for the add first, and an add that failed is raised at each later use."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from likewise.store.embedded.ann import VectorIndex

DIM = 16


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    out = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


class Held:
    """A faiss graph whose add waits for `release`, logging when it is done."""

    def __init__(self, graph: Any, log: list[str]) -> None:
        self.graph, self.log = graph, log
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.graph, name)

    def add(self, vectors: np.ndarray) -> None:
        self.release.wait(timeout=30)  # only a guard against a hang
        self.graph.add(vectors)
        self.log.append("added")


def test_the_caller_goes_on_while_the_graph_grows_and_a_search_waits_for_it() -> None:
    index = VectorIndex(DIM, "cosine")
    data = _vectors(300)
    index.add(data[:100], np.ones(100, bool))
    log: list[str] = []
    held = Held(index.index, log)
    index._graph = held
    index.add(data[100:], np.ones(200, bool))
    assert log == []  # add returned while faiss had not finished
    assert index.size == 300  # the labels are given already
    found: list[int] = []

    def search() -> None:
        found.extend(index.search(data[250], 1)[0].tolist())
        log.append("searched")

    reader = threading.Thread(target=search)
    reader.start()
    held.release.set()
    reader.join()
    assert log == ["added", "searched"]
    assert found == [250]  # the search saw the whole batch
    assert held.graph.ntotal == 300


class Failing:
    """A faiss graph whose add fails (as faiss does when memory runs out)."""

    def __init__(self, graph: Any) -> None:
        self.graph = graph

    def __getattr__(self, name: str) -> Any:
        return getattr(self.graph, name)

    def add(self, vectors: np.ndarray) -> None:
        raise MemoryError("std::bad_alloc")


def test_a_failed_add_is_raised_at_every_later_use_of_the_index() -> None:
    index = VectorIndex(DIM, "cosine")
    data = _vectors(200)
    index.add(data[:100], np.ones(100, bool))
    index._graph = Failing(index.index)
    index.add(data[100:], np.ones(100, bool))  # the failure happens in the background
    for use in (lambda: index.search(data[0], 1), index.vectors, lambda: index.rows([0])):
        with pytest.raises(MemoryError):
            use()
