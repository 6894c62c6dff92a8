"""The resource commands: item list, events list/delete, popular, latest, recommend-from, and
the options that page and cut lists; their --json is HTTP's shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

Run = Callable[..., tuple[int, str, str]]  # the `run` fixture of conftest.py


def test_pages_of_items_and_events(data: Path, run: Run) -> None:
    code, out, _ = run(data, "item", "list", "--limit", "2", "--json")
    page = json.loads(out)
    assert code == 0 and [i["id"] for i in page["items"]] == ["a1", "a2"]
    code, out, _ = run(data, "item", "list", "--limit", "2", "--cursor", page["next_cursor"])
    assert code == 0 and out.split()[0] == "a3"
    for item in ("a1", "a2"):
        run(data, "event", "u1", item, "like")
    code, out, _ = run(data, "events", "list", "u1", "--limit", "1")
    assert code == 0 and "like" in out and "a2" in out and "--cursor" in out
    code, out, _ = run(data, "events", "list", "u1", "--json")
    assert [e["item_id"] for e in json.loads(out)["events"]] == ["a2", "a1"]
    code, out, _ = run(data, "events", "delete", "u1", "--json")
    assert code == 0 and json.loads(out)["deleted"]["events"] == 2
    code, out, _ = run(data, "events", "list", "u1")
    assert out.strip() == "(no events)"


def test_popular_latest_and_recommend_from(data: Path, run: Run) -> None:
    run(data, "event", "u1", "a3", "like")
    code, out, _ = run(data, "popular", "-n", "1", "--json")
    assert code == 0 and json.loads(out)["items"] == [{"id": "a3", "score": 1.0}]
    code, out, _ = run(data, "latest", "-n", "1", "--exclude", "a3")
    assert code == 0 and out.split()[1] != "a3"
    code, out, _ = run(data, "recommend-from", "a1", "-n", "1", "--json")
    rec = json.loads(out)
    assert rec["user_id"] is None and rec["items"][0]["id"] == "a2"
    code, out, err = run(data, "recommend-from", "nope", "--json")
    assert code == 3 and json.loads(err)["error"]["field"] == "positive[0]"  # not found


def test_recommend_pages_and_thresholds(data: Path, run: Run) -> None:
    run(data, "event", "u1", "a1", "like")
    code, out, _ = run(data, "recommend", "u1", "--strategy", "mean", "--json")
    whole = json.loads(out)["items"]
    code, out, _ = run(data, "recommend", "u1", "--strategy", "mean", "--offset", "1", "--json")
    page = json.loads(out)["items"]
    assert [i["id"] for i in page] == [i["id"] for i in whole[1:]] and page[0]["position"] == 2
    bar = str(whole[0]["score"])
    code, out, _ = run(data, "similar", "a1", "--min-score", "2", "--json")
    assert json.loads(out)["items"] == []
    code, out, _ = run(data, "recommend", "u1", "--strategy", "mean", "--min-score", bar)
    assert code == 0 and len(out.strip().splitlines()) == 2  # the strategy line and one item
    code, _, err = run(data, "similar", "a1", "--source", "collaborative")
    assert code == 2 and "train" in err
