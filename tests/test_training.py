"""`train` end to end on a real SQLite store: the models, the behaviour space and its
profiles, related items that know behaviour, tuned weights, reloads across processes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from likewise import ConfigError, Engine, InvalidInput, Settings

# Ten items in pairs whose words share nothing; people who like one of a pair go on to the
# other (p0 -> q0, ...). Their titles are closer to other pairs' items than to their partner.
ITEMS = [{"id": f"p{k}", "title": f"rocket launch number {k}"} for k in range(5)] + [
    {"id": f"q{k}", "title": f"banana bread recipe {k}"} for k in range(5)
]


def _events(users: int = 40) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for u in range(users):
        k = u % 5
        for step, item in enumerate((f"p{k}", f"q{k}", f"p{(k + 1) % 5}")):
            out.append(
                {"user_id": f"u{u}", "item_id": item, "type": "like", "timestamp": 1000 + step}
            )
    return out


@pytest.fixture
def trained(location: str) -> Engine:
    engine = Engine.open(location, model="hashing-64", settings=Settings(cache_size=0))
    engine.add_items(ITEMS)
    engine.record_many(_events())
    return engine


def test_train_fits_every_model_and_fills_the_behaviour_space(trained: Engine) -> None:
    before = trained.similar("p0", n=1)
    assert before[0].id != "q0"  # words alone do not know that p0 leads to q0
    info = trained.train()
    assert info["items"] == 10 and info["dense_items"] == 10 and info["behaviour_items"] == 10
    assert set(info["seconds"]) == {"itemknn", "ease", "next_item"} and info["version"]
    assert "behaviour" in trained.spaces()
    assert trained.similar("p0", n=1)[0].id == "q0"  # related items now know behaviour
    assert trained.similar("p0", n=1, space="text")[0].id != "q0"  # one space: as before
    # The behaviour profile follows behaviour: after p1 comes q1.
    trained.record_many([{"user_id": "new", "item_id": "p1", "type": "like", "timestamp": 5}])
    for strategy in ("ema", "mean", "dislike"):
        rec = trained.recommend("new", n=1, strategy=strategy, space="behaviour", track=False)
        assert [r.id for r in rec.items] == ["q1"], strategy
    rec = trained.recommend("new", n=1, strategy="hybrid", weights={"sequential": 1}, track=False)
    assert [r.id for r in rec.items] == ["q1"]
    trained.close()


def test_tuned_weights_are_kept_with_the_model_and_used_by_default(trained: Engine) -> None:
    info = trained.train(tune=True)
    tuning = info["tuning"]
    assert tuning["ndcg"] >= max(tuning["alone"].values())
    assert info["weights"] == tuning["weights"] and any(info["weights"].values())
    model = trained.model()
    assert model is not None and model["weights"] == tuning["weights"]
    trained.close()


def test_a_second_engine_reloads_a_newer_model(location: str, trained: Engine) -> None:
    other = Engine.open(location, settings=Settings(cache_size=0, reload_seconds=0))
    assert other.model() is None
    first = trained.train()["version"]
    assert other.model() is not None and other.model()["version"] == first  # type: ignore[index]
    second = trained.train()["version"]
    assert second != first
    deadline = time.monotonic() + 30  # a newer bundle is read in the background, then swapped
    while other.model()["version"] != second:  # type: ignore[index]
        assert time.monotonic() < deadline, "the newer model was never loaded"
        time.sleep(0.02)
    rec = other.recommend("u0", n=3, strategy="ema", space="behaviour", track=False)
    assert len(rec.items) == 3
    other.close()
    trained.close()


def test_an_older_model_serves_new_items_and_users(trained: Engine) -> None:
    trained.train()
    trained.add_items([{"id": "n1", "title": "rocket launch number 9"}])
    trained.record_many(
        [
            {"user_id": "fresh", "item_id": "n1", "type": "like", "timestamp": 9},
            {"user_id": "fresh", "item_id": "p2", "type": "like", "timestamp": 10},
        ]
    )
    for strategy in ("hybrid", "ema", "momentum"):
        assert trained.recommend("fresh", n=5, strategy=strategy, track=False).items
    assert trained.recommend("nobody", n=3, strategy="hybrid", track=False).items  # popular
    assert trained.similar("n1", n=3)
    # placed in the behaviour space from its content, so behaviour lists can offer it
    assert "n1" in trained.vectors(["n1"], space="behaviour")
    trained.close()


def test_the_behaviour_space_is_refused_before_a_model(trained: Engine) -> None:
    with pytest.raises(InvalidInput) as caught:
        trained.recommend("u0", strategy="ema", space="behaviour", track=False)
    assert caught.value.field == "space"
    trained.train()
    with pytest.raises(InvalidInput, match="unknown space 'pictures'"):
        trained.recommend("u0", strategy="ema", space="pictures", track=False)
    trained.close()


def test_train_skips_deleted_items_and_keeps_the_space_it_made(trained: Engine) -> None:
    first = trained.train()
    dim = trained.spaces()["behaviour"].dim
    assert dim == 2 * 128  # 2 x behaviour_rank, even with 10 items (each half padded)
    trained.delete(["q0"])  # its events stay in the log
    again = trained.train()
    assert again["items"] == 9 and again["version"] != first["version"]
    assert trained.spaces()["behaviour"].dim == dim
    assert "q0" not in [h.id for h in trained.similar("p0", n=9)]
    trained.close()


def test_new_items_after_reembed_to_another_dimension(tmp_path: Path) -> None:
    from likewise.embedders.registry import get_embedder

    engine = Engine.open(str(tmp_path / "d"), model="hashing-64")
    engine.add_items(ITEMS)
    engine.record_many(_events())
    engine.train()
    engine.reembed(get_embedder("hashing-32"))
    report = engine.add_items([{"id": "n2", "title": "another rocket"}])  # no projection fits
    assert report.new == 1 and engine.similar("n2", n=2)
    engine.close()


def test_a_behaviour_space_made_by_hand_with_another_metric_is_refused(trained: Engine) -> None:
    trained.add_space("behaviour", 8, metric="cosine")
    with pytest.raises(ConfigError, match="metric cosine"):
        trained.train()
    trained.close()


def test_a_retrain_turns_its_vectors_to_the_stored_basis(trained: Engine) -> None:
    import numpy as np

    from likewise.training import _aligned

    trained.train()
    items = [i["id"] for i in ITEMS]
    stored = trained.vectors(items, space="behaviour")
    half = trained.spaces()["behaviour"].dim // 2
    outputs = np.stack([stored[i][half : half + 4] for i in items])
    inputs = np.stack([stored[i][:4] for i in items])
    turn = np.linalg.qr(np.random.default_rng(0).standard_normal((4, 4)))[0].astype(np.float32)
    # the same model in another basis: aligned, it lands back on the stored vectors
    new_in, new_out = _aligned(trained.store, items, inputs @ turn, outputs @ turn, half)
    assert np.allclose(new_out, outputs, atol=1e-4) and np.allclose(new_in, inputs, atol=1e-4)
    trained.close()


def test_a_hybrid_of_models_that_know_no_candidate_falls_back_to_content(trained: Engine) -> None:
    trained.train()
    trained.add_items([{"id": "n3", "title": "rocket launch number 0"}, {"id": "n4", "title": "x"}])
    # Only items the models have never seen may be listed: the models offer nothing.
    known = [i["id"] for i in ITEMS]
    models = trained.personal.models
    assert models is not None
    models.weights = {"ease": 1.0, "sequential": 1.0}  # as a tuning may leave content out
    rec = trained.recommend("u0", n=2, strategy="hybrid", exclude=known)
    assert [r.id for r in rec.items][:1] == ["n3"]  # in content order: u0 likes rockets
    # Weights given with the request are taken as they are: those sources only.
    only = trained.recommend("u0", n=2, strategy="hybrid", weights={"ease": 1}, exclude=known)
    assert only.items == []
    trained.close()
