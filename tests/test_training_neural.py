"""`train` with the neural next-item model (the `likewise[neural]` extra) on a real SQLite
store and on PostgreSQL: trained, kept in the store, served from ONNX, reloaded, tuned."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from tests.test_training import ITEMS, _events

from likewise import ConfigError, Engine, InvalidInput, Settings
from likewise import training as training_module
from likewise.retrieval import neural_fit

if neural_fit.missing():  # pragma: no cover - the dev install has the extra
    if os.environ.get("CI") == "true":
        pytest.fail("torch and onnx are missing: make test installs likewise[neural]")
    pytest.skip("needs likewise[neural] (torch, onnx)", allow_module_level=True)

EPOCHS = 80


@pytest.fixture
def engine(location: str) -> Engine:
    return _opened(location)


def _opened(location: str) -> Engine:
    settings = Settings(cache_size=0, neural_threads=1)  # tiny: one core is faster
    opened = Engine.open(location, model="hashing-64", settings=settings)
    opened.add_items(ITEMS)
    opened.record_many(_events())
    return opened


def _next_for(engine: Engine, item: str) -> list[str]:
    user = f"new-{item}"
    engine.record_many([{"user_id": user, "item_id": item, "type": "like", "timestamp": 9}])
    rec = engine.recommend(user, n=1, strategy="hybrid", weights={"neural": 1}, track=False)
    return [r.id for r in rec.items]


def test_the_neural_model_is_trained_kept_and_served(location: str, engine: Engine) -> None:
    assert _next_for(engine, "p1") != ["q1"]  # before train: content alone
    info = engine.train(neural_epochs=EPOCHS)
    assert info["neural"]["epochs"] == EPOCHS and info["seconds"]["neural"] > 0
    assert _next_for(engine, "p2") == ["q2"]  # what follows p2 in everyone's history
    # Another server reloads the bundle from the store and serves the same list.
    other = Engine.open(location, settings=Settings(cache_size=0, reload_seconds=0))
    try:
        model = other.model()
        assert model is not None and model["neural"]["epochs"] == EPOCHS
        assert _next_for(other, "p3") == ["q3"]
    finally:
        other.close()
    # A train without the neural model drops it, in the store too: what serves is what the
    # settings ask for.
    assert engine.train()["neural"] is None
    engine.close()
    other = Engine.open(location, settings=Settings(cache_size=0))
    try:
        model = other.model()
        assert model is not None and model["neural"] is None
        assert _next_for(other, "p4") != ["q4"]  # no neural source: content fills the list
    finally:
        other.close()


def test_tuning_trains_it_once_and_weighs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _opened(str(tmp_path / "d"))
    calls: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["epochs"])
        return neural_fit.fit_neural(*args, **kwargs)

    monkeypatch.setattr(training_module, "fit_neural", counted)
    info = engine.train(tune=True, neural_epochs=EPOCHS)
    assert calls == [EPOCHS]
    tuning = info["tuning"]
    assert "neural" in tuning["alone"] and tuning["alone"]["neural"] > 0
    assert info["neural"]["epochs"] == EPOCHS
    engine.close()


def test_without_the_extra_train_names_it_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _opened(str(tmp_path / "d"))
    monkeypatch.setattr(neural_fit, "missing", lambda: "torch (OSError: broken)")
    with pytest.raises(ConfigError, match=r"neural_epochs: .*torch.*likewise\[neural\]"):
        engine.train(neural_epochs=3)
    assert engine.model() is None
    with pytest.raises(InvalidInput, match="neural_epochs"):
        engine.train(neural_epochs=-1)
    engine.close()
