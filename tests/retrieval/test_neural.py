"""The neural next-item model: trained with torch (the `likewise[neural]` extra), served from
its ONNX graph with onnxruntime, kept as bytes."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from likewise import ConfigError
from likewise.retrieval import neural_fit
from likewise.retrieval.neural import NeuralNext
from likewise.retrieval.neural_fit import fit_neural

if neural_fit.missing():  # pragma: no cover - the dev install has the extra
    if os.environ.get("CI") == "true":
        pytest.fail("torch and onnx are missing: make test installs likewise[neural]")
    pytest.skip("needs likewise[neural] (torch, onnx)", allow_module_level=True)

ITEMS = 12


def _walks(users: int = 120, seed: int = 0) -> list[list[str]]:
    """Histories that step through the items in a circle, each from a random start."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(users):
        start, size = int(rng.integers(ITEMS)), int(rng.integers(4, 9))
        out.append([f"i{(start + s) % ITEMS}" for s in range(size)])
    return out


@pytest.fixture(scope="module")
def model() -> NeuralNext:
    fitted = fit_neural(_walks(), epochs=150, seconds=300, limit=100, dim=16, length=8, threads=1)
    assert fitted is not None
    return fitted


def test_it_learns_what_comes_next(model: NeuralNext) -> None:
    assert model.info["epochs"] == 150 and model.info["loss"] < math.log(ITEMS) / 2
    for k in range(ITEMS):
        history = [f"i{(k - 2) % ITEMS}", f"i{(k - 1) % ITEMS}", f"i{k}"]
        assert next(iter(model.top(history, 3))) == f"i{(k + 1) % ITEMS}", history


def test_the_history_and_exclusions_are_left_out(model: NeuralNext) -> None:
    top = model.top(["i3", "i4"], 5, exclude=["i5"])
    assert len(top) == 5 and not {"i3", "i4", "i5"} & set(top)
    assert list(top.values()) == sorted(top.values(), reverse=True)


def test_unknown_items_are_skipped_and_an_unknown_history_offers_nothing(
    model: NeuralNext,
) -> None:
    assert model.top(["nope", "gone"], 3) == {}
    assert model.top(["i2", "nope"], 3) == model.top(["i2"], 3)
    row = model.encode(["i1", "x", "i2"])
    assert row is not None and row.tolist()[-2:] == [
        model.position["i1"] + 1,
        model.position["i2"] + 1,
    ]
    assert row.tolist()[:-2] == [0] * (model.length - 2)  # left-padded


def test_a_long_history_keeps_its_last_items(model: NeuralNext) -> None:
    history = [f"i{k % ITEMS}" for k in range(30)]
    row, last = model.encode(history), model.encode(history[-model.length :])
    assert row is not None and last is not None and row.tolist() == last.tolist()


def test_bytes_round_trip_scores_alike(model: NeuralNext) -> None:
    again = NeuralNext.from_bytes(model.to_bytes())
    assert again.items == model.items and again.length == model.length
    assert again.info == model.info
    rows = np.stack([model.encode(w) for w in _walks(20, seed=1)])  # type: ignore[misc]
    np.testing.assert_allclose(again.states(rows), model.states(rows), rtol=1e-6)


def test_too_little_to_learn_gives_no_model() -> None:
    assert fit_neural([["a"], ["b"]], epochs=1, seconds=10, limit=10) is None


def test_the_time_limit_stops_training() -> None:
    fitted = fit_neural(_walks(), epochs=10_000, seconds=0.5, limit=100, dim=8, length=8, threads=1)
    assert fitted is not None and 1 <= fitted.info["epochs"] < 10_000


def test_without_torch_training_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(neural_fit, "missing", lambda: "onnxscript (ImportError: gone)")
    with pytest.raises(ConfigError, match=r"needs onnxscript .*likewise\[neural\]"):
        fit_neural(_walks(), epochs=1, seconds=10, limit=10)
