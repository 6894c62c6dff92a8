"""The temporal protocol and `likewise eval` on real MovieLens-100k users."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from likewise.cli.main import main
from likewise.config import Settings
from likewise.errors import ConfigError, InvalidInput
from likewise.evaluation import run as evaluation_run
from likewise.evaluation.plan import EvalRequest, Progress, Trial
from likewise.evaluation.replay import bootstrap, cold_split, temporal_split
from likewise.evaluation.run import check, run
from likewise.retrieval import neural_fit


def ev(user: str, item: str, t: float, rating: float) -> dict[str, object]:
    return {"user_id": user, "item_id": item, "type": "rating", "value": rating, "timestamp": t}


def test_the_last_positive_is_held_out_with_everything_after_it() -> None:
    events = [
        ev("u1", "a", 1, 5),
        ev("u1", "b", 2, 4),
        ev("u1", "c", 3, 5),
        ev("u1", "d", 4, 1),
        ev("u2", "a", 1, 5),  # one positive: nothing to hold out, replayed as is
    ]
    history, targets = temporal_split(events)
    assert targets == {"u1": "c"}
    assert [(e["user_id"], e["item_id"]) for e in history] == [
        ("u1", "a"),
        ("u2", "a"),
        ("u1", "b"),
    ]


def test_bootstrap_brackets_the_mean() -> None:
    values = [1.0] * 30 + [0.0] * 70
    low, high = bootstrap(values)
    assert low < 0.3 < high and low > 0.15 and high < 0.45
    assert bootstrap([]) == (0.0, 0.0)


@pytest.mark.slow
def test_eval_command_on_movielens_100k(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(
        [
            "eval",
            "--dataset",
            "movielens-100k",
            "--users",
            "60",
            "--model",
            "hashing-64",
            "--strategies",
            "popular,ema,ema+dislike,itemknn,hybrid",
            "--k",
            "5,10",
            "--json",
            "--out",
            str(tmp_path / "report"),
            "--tune-alpha",
            "0.2,0.6",
            "--tune",
            "beta=0,0.5",
            "--tune",
            "diversity=0,0.3",
            "--tune-strategy",
            "hybrid",
        ]
    )
    out, err = capsys.readouterr()
    rows = json.loads(out)
    assert code == 0
    # The chosen values are kept as settings a server reads (`--config`), not only printed.
    tuned = tmp_path / "report" / "tuned.toml"
    assert f"tuned settings: {tuned}" in err
    values = tomllib.loads(tuned.read_text())
    assert set(values) == {"alpha", "beta", "diversity"}
    assert values["alpha"] in (0.2, 0.6) and values["beta"] in (0.0, 0.5)
    settings = Settings(**values)
    assert (settings.profiles.alpha, settings.ranking.diversity) == (
        values["alpha"],
        values["diversity"],
    )
    names = ["popular", "ema", "ema+dislike", "itemknn", "hybrid"]
    assert [(r["strategy"], r["k"]) for r in rows] == [(n, k) for n in names for k in (5, 10)]
    for short, long in zip(rows[::2], rows[1::2], strict=True):
        assert short["hr"] <= long["hr"]  # the same list, cut shorter
    for r in rows:
        assert r["users"] > 40 and 0.0 <= r["ndcg"] <= r["hr"] <= 1.0
        assert r["hr_ci"][0] <= r["hr"] <= r["hr_ci"][1]
        assert 0.0 <= r["mrr"] <= r["hr"] and 0.0 < r["coverage"] <= 1.0
        assert 0.0 <= r["diversity"] <= 2.0 and r["novelty"] > 0
    assert max(r["hr"] for r in rows) > 0  # real users, real items: something is found
    index = (tmp_path / "report" / "index.md").read_text()
    assert "| hybrid |" in index and "likewise eval --dataset movielens-100k" in index
    assert "## Tuning on the validation item" in index and "--tune alpha=0.2,0.6" in index
    assert "| beta | 0.5 |" in index and "then used for the test: beta=" in index
    for png in ("accuracy.png", "tradeoff.png", "alpha.png", "beta.png", "diversity.png"):
        assert (tmp_path / "report" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["eval", "--strategies", "telepathy"]) == 2
    missing = tmp_path / "nowhere" / "tuned.toml"
    assert main(["eval", "--tune-alpha", "0.2", "--save-tuned", str(missing)]) == 2
    assert "--save-tuned" in capsys.readouterr().err  # refused before the run, not after
    assert main(["eval", "--tune-alpha", "0,2"]) == 2
    assert main(["eval", "--k", "10,x"]) == 2
    assert main(["eval", "--tune-alpha", "0.2", "--tune-strategy", "telepathy"]) == 2
    assert main(["eval", "--tune", "gamma=1"]) == 2 and "--tune" in capsys.readouterr().err
    assert main(["eval", "--tune", "diversity=0.3"]) == 2  # shapes the hybrid, not ema
    assert "--tune-strategy hybrid" in capsys.readouterr().err


@pytest.mark.slow
def test_random_protocol_on_movielens_100k(capsys: pytest.CaptureFixture[str]) -> None:
    command = ["eval", "--dataset", "movielens-100k", "--protocol", "random", "--json"]
    code = main([*command, "--model", "hashing-64"])
    rows = {r["strategy"]: r for r in json.loads(capsys.readouterr().out)}
    learned = {"ease", "sequential", "behaviour"}
    assert code == 0 and set(rows) == {"popular", "itemknn", "hybrid", *learned}
    for r in rows.values():
        assert r["users"] > 900 and 0.0 < r["ndcg"] <= 1.0 and 0.0 < r["recall"] <= r["hr"]
    assert rows["itemknn"]["ndcg"] > rows["popular"]["ndcg"]  # co-occurrence beats popularity
    assert rows["ease"]["ndcg"] > rows["itemknn"]["ndcg"]  # and EASE beats item-kNN
    assert rows["hybrid"]["ndcg"] > rows["popular"]["ndcg"]
    # The matrix strategies are scored on the validation split too (RecBole's "valid" figure).
    assert 0.0 < rows["popular"]["valid_ndcg"] < 1.0 and "valid_ndcg" not in rows["hybrid"]
    bad = ["eval", "--protocol", "random", "--strategies", "ema+dislike"]  # no dislikes here
    assert main(bad) == 2 and "--strategies" in capsys.readouterr().err


@pytest.mark.slow
def test_sequential_protocol_on_movielens_100k(capsys: pytest.CaptureFixture[str]) -> None:
    command = ["eval", "--dataset", "movielens-100k", "--protocol", "sequential"]
    code = main([*command, "--model", "hashing-64", "--strategies", "popular,itemknn", "--json"])
    rows = {r["strategy"]: r for r in json.loads(capsys.readouterr().out)}
    assert code == 0 and set(rows) == {"popular", "itemknn"}
    assert rows["popular"]["users"] > 900  # 10-core users of ML-100k, each with a held-out item
    assert rows["itemknn"]["hr"] > rows["popular"]["hr"] > 0


def test_eval_on_a_teams_own_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text(
        "".join(
            json.dumps({"id": f"i{k}", "title": f"item {k} about {['space', 'food'][k % 2]}"})
            + "\n"
            for k in range(20)
        )
    )
    events = tmp_path / "events.csv"
    lines = ["user_id,item_id,type,timestamp"]
    for u in range(12):
        for step in range(6):  # users like one parity of items, in order
            lines.append(f"u{u},i{(u % 2) + 2 * ((u + step) % 10)},like,{1_700_000_000 + step}")
    events.write_text("\n".join(lines) + "\n")
    own = f"{items},{events}"
    command = ["eval", "--dataset", own, "--model", "hashing-64", "--json"]
    code = main([*command, "--strategies", "popular,itemknn,hybrid"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0 and [r["strategy"] for r in rows] == ["popular", "itemknn", "hybrid"]
    assert all(r["users"] == 12 for r in rows)
    code = main([*command, "--strategies", "ema,itemknn", "--tune-min-score", "0.25"])
    rows = json.loads(capsys.readouterr().out)
    for row in rows:  # a quarter of the hits may go: the weakest, and no more
        if row["hr"] > 0:
            assert row["min_score"] is not None and 0.75 <= row["hits_kept"] <= 1.0
            assert 0.0 <= row["slots_cut"] <= 1.0
    code = main([*command[:-1], "--strategies", "ema", "--tune-min-score", "0.25"])
    assert code == 0 and "min_score that keeps 75% of the hits" in capsys.readouterr().out
    assert main([*command, "--tune-min-score", "1"]) == 2
    assert "--tune-min-score" in capsys.readouterr().err
    assert main(["eval", "--dataset", "nothing-like-this"]) == 2
    assert "--dataset" in capsys.readouterr().err
    assert main(["eval", "--dataset", own, "--protocol", "random"]) == 2
    assert main(["eval", "--dataset", f"{items},{tmp_path / 'missing.csv'}"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_cold_split_targets_items_first_seen_after_the_cut() -> None:
    before = [("a", "x"), ("b", "x"), ("a", "y"), ("b", "y"), ("c", "y"), ("a", "x2")]
    after = [("a", "new"), ("b", "x"), ("b", "new"), ("c", "fresh")]
    rows = [
        {"user_id": u, "item_id": i, "type": "like", "timestamp": float(t)}
        for t, (u, i) in enumerate([*before, *after])
    ]
    history, targets, cold = cold_split(rows, share=0.4)
    assert cold == {"new", "fresh"}  # first seen in the last 40% of events
    assert len(history) == 6 and all(e["timestamp"] < 6 for e in history)
    assert targets == {"a": "new", "b": "new", "c": "fresh"}


@pytest.mark.slow
def test_cold_items_protocol_ranks_among_cold_items(capsys: pytest.CaptureFixture[str]) -> None:
    command = ["eval", "--dataset", "movielens-100k", "--protocol", "cold-items", "--json"]
    code = main([*command, "--model", "hashing-64", "--strategies", "itemknn,ema"])
    rows = {r["strategy"]: r for r in json.loads(capsys.readouterr().out)}
    assert code == 0 and rows["ema"]["users"] > 5
    assert rows["itemknn"]["hr"] == 0.0  # no events before the cut: collaborative cannot help
    assert rows["ema"]["hr"] > 0.0  # content can


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        pytest.param(EvalRequest(strategies=("telepathy",)), "strategies", id="strategy"),
        pytest.param(EvalRequest(tune_strategy="telepathy"), "tune_strategy", id="tune-strategy"),
        pytest.param(EvalRequest(users=0), "users", id="users"),
        pytest.param(EvalRequest(tune_min_score=-0.1), "tune_min_score", id="min-score-loss"),
        pytest.param(EvalRequest(k=(10, 5)), "k", id="k-order"),
        pytest.param(EvalRequest(k=(0,)), "k", id="k-range"),
        pytest.param(EvalRequest(tune=(("gamma", (1.0,)),)), "tune", id="unknown-knob"),
        pytest.param(EvalRequest(tune=(("alpha", (0.0,)),)), "tune", id="alpha-zero"),
        pytest.param(EvalRequest(tune=(("diversity", (0.3,)),)), "tune_strategy", id="hybrid"),
    ],
)
def test_a_bad_request_names_its_field(request_: EvalRequest, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check(request_)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        pytest.param(EvalRequest(neural_epochs=-1), "neural_epochs", id="negative"),
        pytest.param(EvalRequest(strategies=("neural",)), "strategies", id="not-trained"),
        pytest.param(
            EvalRequest(protocol="random", strategies=("neural",), neural_epochs=0),
            "strategies",
            id="random",
        ),
    ],
)
def test_a_bad_neural_request_is_refused_before_any_data_is_read(
    request_: EvalRequest, field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LIKEWISE_NEURAL_EPOCHS", raising=False)
    monkeypatch.setattr(evaluation_run, "_load", None)  # reading data would fail loudly
    with pytest.raises(InvalidInput) as caught:
        run(request_)
    assert caught.value.field == field


def test_without_the_extra_eval_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(neural_fit, "missing", lambda: "torch (ImportError: nope)")
    monkeypatch.setattr(evaluation_run, "_load", None)
    with pytest.raises(ConfigError, match=r"neural_epochs: .*torch.*likewise\[neural\]"):
        run(EvalRequest(neural_epochs=3))


def test_run_returns_the_results_and_reports_through_callbacks() -> None:
    opened: list[str] = []
    heard: list[tuple[Trial, bool]] = []

    @contextmanager
    def bars(total: int, what: str) -> Iterator[Progress]:
        opened.append(what)
        yield lambda done: None

    request = EvalRequest(
        dataset="movielens-100k",
        strategies=("popular", "ema"),
        k=(5, 10),
        users=20,
        model="hashing-64",
        tune=(("alpha", (0.2, 0.6)),),
    )
    evaluation = run(request, bars=bars, on_trial=lambda t, chosen: heard.append((t, chosen)))
    assert opened == ["embed", "replay", "alpha 0.2", "alpha 0.6", "replay", "recommend"]
    assert [(t.name, t.value) for t, _ in heard] == [("alpha", 0.2), ("alpha", 0.6)]
    assert [t.value for t, chosen in heard if chosen] == [evaluation.chosen["alpha"]]
    assert evaluation.tuning == [t for t, _ in heard]
    rows = [(r["strategy"], r["k"]) for r in evaluation.rows]
    assert rows == [("popular", 5), ("popular", 10), ("ema", 5), ("ema", 10)]
    assert evaluation.at(5) == evaluation.results[::2]
    assert evaluation.markdown.endswith(evaluation.notes) and "alpha=" in evaluation.notes
    assert evaluation.title.startswith("movielens-100k, temporal leave-last-out, ")


def test_a_protocol_with_nothing_held_out_is_an_error_not_zeros(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 19: `eval --protocol cold-items` on data with no cold items printed a table of
    zeros and exited 0."""
    items = tmp_path / "items.jsonl"
    items.write_text(
        "".join(json.dumps({"id": f"i{k}", "title": f"t {k}"}) + "\n" for k in range(4))
    )
    events = tmp_path / "events.jsonl"
    rows = [
        {"user_id": f"u{k % 3}", "item_id": f"i{k % 4}", "type": "like", "timestamp": k}
        for k in range(40)
    ]
    events.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code = main(["eval", "--dataset", f"{items},{events}", "--protocol", "cold-items"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: field '--protocol': no user has a held-out item under cold-items")
