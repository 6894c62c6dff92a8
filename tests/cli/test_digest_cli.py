"""`likewise digest`: the lists written as JSONL and as CSV, for every user or a file's,
the earlier digests' items left out, and bad options refused before a file is written."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from likewise import Engine

Run = Callable[..., tuple[int, str, str]]  # the `run` fixture of conftest.py
USERS = ["u1", "u2", "u3", "u4"]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    with Engine.open(str(data), model="hashing-64") as engine:
        engine.add_items([{"id": f"i{k:02d}", "title": f"story {k} of {k % 4}"} for k in range(30)])
        engine.record_many(
            [
                {"user_id": u, "item_id": f"i{(3 * j + k) % 30:02d}", "type": "like"}
                for j, u in enumerate(USERS)
                for k in range(3)
            ]
        )
    return data


def want(data: Path, n: int) -> dict[str, list[str]]:
    with Engine.open(str(data)) as engine:
        return {u: [r.id for r in engine.recommend(u, n=n, track=False).items] for u in USERS}


def test_jsonl_then_csv_without_the_items_sent(store: Path, tmp_path: Path, run: Run) -> None:
    expected = want(store, 3)
    out = tmp_path / "weekly.jsonl"
    code, _, err = run(store, "digest", "--name", "weekly", "--n", "3", "--out", str(out))
    assert code == 0, err
    assert "digest weekly: 4 lists (12 items) for 4 users" in err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["user_id"]: [i["id"] for i in r["items"]] for r in rows} == expected
    assert all(r["digest"] == "weekly" and len(r["recommendation_id"]) == 32 for r in rows)
    # The next one, for two users a file names, as CSV: none of the items sent before.
    users = tmp_path / "users.txt"
    users.write_text("u2\n\nu4\n")
    sheet = tmp_path / "next.CSV"
    args = ("digest", "--name", "weekly", "--n", "3", "--users", str(users), "--out", str(sheet))
    code, _, err = run(store, *args, "--json")
    assert code == 0, err
    assert json.loads(err.splitlines()[-1])["lists"] == 2
    with sheet.open(newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert {line["user_id"] for line in lines} == {"u2", "u4"}
    assert [line["position"] for line in lines] == ["1", "2", "3"] * 2
    for line in lines:
        assert line["item_id"] not in expected[line["user_id"]]
    # On stdout as JSONL with the sent items allowed again: the first lists once more.
    code, stdout, _ = run(store, "digest", "--name", "weekly", "--n", "3", "--include-sent")
    again = [json.loads(line) for line in stdout.splitlines()]
    assert {r["user_id"]: [i["id"] for i in r["items"]] for r in again} == expected


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--n", "0"), "n"),
        (("--out", "x.txt"), "--out"),
        (("--where", "{oops"), "--where"),
        (("--where", '{"published_at": {"gte": "soon"}}'), "where.published_at.gte"),
        (("--strategy", "best"), "strategy"),
        (("--users", "/nonexistent/users.txt"), "--users"),
        (("--segment", "Gold!"), "segment"),
    ],
)
def test_bad_options_write_nothing(
    store: Path, tmp_path: Path, run: Run, args: tuple[str, ...], field: str
) -> None:
    out = tmp_path / "d.jsonl"
    code, stdout, err = run(store, "digest", "--name", "weekly", "--out", str(out), *args, "--json")
    assert code == 2
    assert json.loads(err.strip())["error"]["field"] == field  # one line, naming the option
    assert not out.exists() and stdout == ""
    with Engine.open(str(store)) as engine:
        assert engine.ctr_report() == []
