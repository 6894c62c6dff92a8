"""The personalisation commands: event, events import, recommend, profile, onboard, rebuild."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., tuple[int, str, str]]  # the `run` fixture of conftest.py


def test_events_drive_recommendations(data: Path, run: Run) -> None:
    code, out, _ = run(data, "recommend", "u1", "--json")
    assert code == 0 and json.loads(out)["strategy"] == "popular"
    code, out, _ = run(data, "event", "u1", "a1", "click", "--event-id", "e1")
    assert (code, out.strip()) == (0, "recorded")
    code, out, _ = run(data, "event", "u1", "a1", "click", "--event-id", "e1")
    assert "already recorded" in out
    code, out, _ = run(data, "recommend", "u1", "-n", "1")
    assert code == 0
    assert "a2  Moon rocket delayed" in out and "because you liked 'Rocket reaches" in out
    code, out, _ = run(
        data,
        "recommend",
        "u1",
        "--json",
        "--strategy",
        "mean",
        "--where",
        '{"category": "recipes"}',
    )
    rec = json.loads(out)
    assert rec["strategy"] == "mean" and [i["id"] for i in rec["items"]] == ["a3"]
    code, out, _ = run(data, "profile", "u1", "--json", "-n", "1")
    profile = json.loads(out)
    assert profile["events"] == 1 and profile["nearest"][0]["id"] == "a1"


def test_events_import_is_all_or_nothing(tmp_path: Path, data: Path, run: Run) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "user_id,item_id,type,value,event_id,device\n"
        "u1,a1,rating,5,e1,mobile\n"
        "u1,a3,rating,9,e2,\n"
        "u2,a2,view,,e3,\n"
    )
    code, _, err = run(data, "events", "import", str(path))
    assert code == 2 and "line 3, field 'value'" in err and "nothing was recorded" in err
    code, out, _ = run(data, "stats", "--json")
    assert json.loads(out)["events"] == 0
    code, out, err = run(data, "events", "import", str(path), "--skip-invalid", "--json")
    assert code == 0 and "skipped:" in err
    assert json.loads(out) == {
        "accepted": 2,
        "duplicates": 0,
        "skipped": 1,
        "created": 0,
        "skipped_lines": [
            {
                "line": 3,
                "field": "value",
                "message": "a rating value must be from 1 to 5",
                "code": "invalid_input",
            }
        ],
    }
    code, out, _ = run(data, "events", "import", str(path), "--skip-invalid", "--json")
    assert json.loads(out)["duplicates"] == 2
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text(
        '{"user_id": "u3", "item_id": "a1", "type": "like"}\n'
        '{"user_id": "u3", "item_id": "zz", "type": "like"}\n'
    )
    code, _, err = run(data, "events", "import", str(unknown))
    assert code == 2 and "line 2, field 'item_id': unknown item 'zz'" in err
    code, out, _ = run(data, "profile", "u3", "--json")
    assert json.loads(out)["events"] == 0


def test_onboard_and_rebuild(data: Path, run: Run) -> None:
    code, out, _ = run(data, "onboard", "u9", "--text", "tomato pasta")
    assert code == 0
    code, out, _ = run(data, "recommend", "u9", "-n", "1", "--json")
    assert json.loads(out)["items"][0]["id"] == "a3"
    run(data, "event", "u1", "a1", "like")
    code, out, _ = run(data, "profiles", "rebuild")
    assert (code, out.strip()) == (0, "rebuilt: 1 profiles")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["event", "u1", "a1", "poke"], "field 'type': unknown event type", id="type"),
        pytest.param(["event", "u1", "a1", "rating"], "field 'value'", id="rating-value"),
        pytest.param(["event", " ", "a1", "click"], "field 'user_id'", id="user"),
        pytest.param(["event", "u1", "a1", "view", "--context", "{"], "--context", id="ctx"),
        pytest.param(["recommend", "u1", "-n", "0"], "field 'n'", id="n"),
        pytest.param(["onboard", "u1"], "field 'text'", id="onboard-empty"),
        pytest.param(["events", "import", "nope.csv"], "no such file", id="file"),
        pytest.param(["train", "--neural-epochs", "-1"], "field 'neural_epochs'", id="epochs"),
    ],
)
def test_errors_are_one_line_and_exit_2(
    data: Path, run: Run, args: list[str], message: str
) -> None:
    code, _out, err = run(data, *args)
    assert code == 2
    assert message in err and err.startswith("error: ") and err.count("\n") == 1
    code, out, _ = run(data, "stats", "--json")
    assert json.loads(out)["events"] == 0


def test_an_event_on_a_missing_item_is_exit_3(data: Path, run: Run) -> None:
    code, _out, err = run(data, "event", "u1", "zz", "click")
    assert (code, err) == (3, "error: field 'item_id': item 'zz' not found\n")
    code, out, _ = run(data, "stats", "--json")
    assert json.loads(out)["events"] == 0


def test_serve_refuses_an_open_api_off_loopback(data: Path, run: Run) -> None:
    code, _, err = run(data, "serve", "--host", "0.0.0.0")
    assert code == 2 and "refusing to serve on 0.0.0.0 without API keys" in err


def test_train_with_the_neural_model(
    tmp_path: Path, data: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`train --neural-epochs N` trains the neural model too, says so, and it serves."""
    monkeypatch.setenv("LIKEWISE_NEURAL_THREADS", "1")
    rows = ["user_id,item_id,type,timestamp"]
    for u in range(12):
        rows += [f"u{u},a1,like,1", f"u{u},a2,like,2", f"u{u},a3,like,3"]
    events = tmp_path / "events.csv"
    events.write_text("\n".join(rows) + "\n")
    assert run(data, "events", "import", str(events))[0] == 0
    code, out, _ = run(data, "train", "--neural-epochs", "3")
    assert code == 0 and "neural model: 3 epochs in" in out
    code, out, _ = run(data, "stats", "--json")
    assert json.loads(out)["trained"]["neural"]["epochs"] == 3
    run(data, "event", "new", "a1", "like")
    weights = '{"neural": 1}'
    code, out, _ = run(data, "recommend", "new", "--strategy", "hybrid", "--weights", weights)
    assert code == 0 and "a2" in out and "a3" in out
