"""Bring your own vectors: items carry vectors for spaces the team declares, through the
Python API and the file loaders, on both stores; bad vectors are refused by field, with
nothing written."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from likewise import Engine, InvalidInput
from likewise.cli.main import main
from likewise.items import load_items
from likewise.items.model import stored_item


def _open(location: str) -> Engine:
    engine = Engine.open(location, model="hashing-64")
    engine.add_space("img", 3)  # cosine
    engine.add_space("emb", 2, metric="dot")
    return engine


@pytest.fixture
def engine(location: str) -> Any:
    eng = _open(location)
    yield eng
    eng.close()


ITEMS = [
    {"id": "red", "title": "red thing", "vectors": {"img": [2.0, 0.0, 0.0], "emb": [1, 0]}},
    {"id": "green", "title": "green thing", "vectors": {"img": [0.0, 3.0, 0.0]}},
    {"id": "blue", "title": "blue thing", "vectors": {"img": [0.0, 0.1, 1.0]}},
]


def test_items_carry_vectors_into_their_spaces(engine: Engine) -> None:
    report = engine.add_items(ITEMS)
    assert (report.new, report.embedded) == (3, 3)
    img = engine.vectors(["red", "green", "blue"], space="img")
    # A cosine space keeps them at unit length, as put_vectors does.
    assert img["red"] == pytest.approx([1.0, 0.0, 0.0])
    assert img["green"] == pytest.approx([0.0, 1.0, 0.0])
    assert engine.vectors(["red", "green"], space="emb").keys() == {"red"}
    assert engine.vectors(["red"], space="emb")["red"] == pytest.approx([1.0, 0.0])
    hits = engine.search_vector([0.0, 0.2, 1.0], n=3, space="img")
    assert [h.id for h in hits] == ["blue", "green", "red"]
    assert [h.id for h in engine.similar("green", n=2, space="img")] == ["blue", "red"]
    # The vectors are not part of the stored record: they live in their spaces.
    assert "vectors" not in engine.get("red").to_record()
    assert engine.get("red").metadata == {}


def test_an_item_without_vectors_keeps_the_ones_it_has(engine: Engine) -> None:
    engine.add_items(ITEMS)
    report = engine.add_items([{"id": "red", "title": "a new red title"}])
    assert report.changed == 1
    assert engine.vectors(["red"], space="img")["red"] == pytest.approx([1.0, 0.0, 0.0])
    assert engine.vectors(["red"], space="emb")["red"] == pytest.approx([1.0, 0.0])
    # Giving one space's vector leaves the other's alone.
    engine.add_items([{"id": "red", "title": "a new red title", "vectors": {"emb": [0, 5]}}])
    assert engine.vectors(["red"], space="img")["red"] == pytest.approx([1.0, 0.0, 0.0])
    assert engine.vectors(["red"], space="emb")["red"] == pytest.approx([0.0, 5.0])


def test_a_new_vector_is_a_change_and_the_same_one_is_not(engine: Engine) -> None:
    engine.add_items(ITEMS)
    again = engine.add_items(ITEMS)
    assert (again.unchanged, again.changed) == (3, 0)
    # In a dot space a longer vector is another vector: it is written.
    moved = engine.add_items([{**ITEMS[0], "vectors": {"emb": [2, 0]}}])
    assert (moved.changed, moved.embedded) == (1, 0)
    assert engine.vectors(["red"], space="emb")["red"] == pytest.approx([2.0, 0.0])
    # In a cosine space only the direction counts: a longer one is the same vector.
    same = engine.add_items([{**ITEMS[0], "vectors": {"img": [7, 0, 0], "emb": [2, 0]}}])
    assert same.unchanged == 1


def test_a_run_stopped_before_the_vectors_is_completed_by_running_it_again(
    engine: Engine,
) -> None:
    """Items and their own vectors are written in two transactions: an item stored without
    them (the process died between) is written again, not skipped as unchanged."""
    engine.add_items([{k: v for k, v in i.items() if k != "vectors"} for i in ITEMS])
    assert engine.vectors(["red", "green", "blue"], space="img") == {}
    report = engine.add_items(ITEMS)
    assert (report.changed, report.unchanged, report.embedded) == (3, 0, 0)
    assert engine.vectors(["red", "green", "blue"], space="img").keys() == {
        "red",
        "green",
        "blue",
    }


BAD = [
    pytest.param({"img": [1.0, 2.0]}, "vectors.img", "3-d", id="short"),
    pytest.param({"img": [1.0, 2.0, 3.0, 4.0]}, "vectors.img", "3-d", id="long"),
    pytest.param({"img": [1.0, math.nan, 0.0]}, "vectors.img", "not finite", id="nan"),
    pytest.param({"img": [1.0, math.inf, 0.0]}, "vectors.img", "not finite", id="inf"),
    pytest.param({"img": [1e300, 0.0, 0.0]}, "vectors.img", "within", id="huge"),
    pytest.param({"img": [0, 0, 0]}, "vectors.img", "all zeros", id="zero-cosine"),
    pytest.param({"img": [1.0, "2", 0.0]}, "vectors.img", "not a number", id="string"),
    pytest.param({"img": [True, 0.0, 0.0]}, "vectors.img", "not a number", id="bool"),
    pytest.param({"img": []}, "vectors.img", "empty", id="empty"),
    pytest.param({"img": "1,2,3"}, "vectors.img", "array", id="not-a-list"),
    pytest.param({"photo": [1.0, 0.0, 0.0]}, "vectors.photo", "unknown space", id="unknown"),
    pytest.param({"text": [0.0] * 64}, "vectors.text", "text space", id="text"),
    pytest.param([1.0, 2.0, 3.0], "vectors", "object", id="not-an-object"),
]


@pytest.mark.parametrize(("vectors", "field", "reason"), BAD)
def test_bad_vectors_are_refused_by_field_and_nothing_is_written(
    engine: Engine, vectors: Any, field: str, reason: str
) -> None:
    engine.add_items(ITEMS[:1])
    before = engine.vectors(["red"], space="img")["red"].copy()
    batch = [
        {"id": "red", "title": "changed", "vectors": {"img": [0.0, 1.0, 0.0]}},
        {"id": "bad", "title": "bad thing", "vectors": vectors},
    ]
    with pytest.raises(InvalidInput) as refused:
        engine.add_items(batch)
    assert refused.value.field == f"items[1].{field}"
    assert reason in refused.value.reason
    assert engine.ids() == ["red"]
    assert engine.get("red").title == "red thing"
    assert engine.vectors(["red"], space="img")["red"] == pytest.approx(before)
    # check_items names the same problem without its position.
    problems = engine.check_items(batch)
    assert [(k, p.field) for k, p in problems] == [(1, field)]


def test_numpy_vectors_are_taken(engine: Engine) -> None:
    engine.add_items([{"id": "np", "title": "n", "vectors": {"emb": np.array([0.5, 0.25])}}])
    assert engine.vectors(["np"], space="emb")["np"] == pytest.approx([0.5, 0.25])


def test_jsonl_and_csv_files_carry_vectors(tmp_path: Path, engine: Engine) -> None:
    jsonl = tmp_path / "items.jsonl"
    jsonl.write_text("\n".join(json.dumps(i) for i in ITEMS) + "\n")
    csv = tmp_path / "items.csv"
    csv.write_text(
        'id,title,vectors.img,vectors.emb\nc1,one,"[1, 0, 0]","[0.5, 0.5]"\nc2,two,"[0, 1, 0]",\n'
    )
    loaded = load_items(jsonl)
    assert loaded.errors == []
    assert loaded.items[0].vectors == {"img": (2.0, 0.0, 0.0), "emb": (1.0, 0.0)}
    from_csv = load_items(csv)
    assert from_csv.errors == []
    assert from_csv.items[0].vectors == {"img": (1.0, 0.0, 0.0), "emb": (0.5, 0.5)}
    assert from_csv.items[1].vectors == {"img": (0.0, 1.0, 0.0)}  # an empty cell: none
    assert from_csv.items[0].metadata == {}
    engine.add_items(from_csv.items)
    assert engine.vectors(["c1", "c2"], space="emb").keys() == {"c1"}


def test_bad_vectors_in_files_are_named_by_line_and_field(tmp_path: Path) -> None:
    jsonl = tmp_path / "items.jsonl"
    jsonl.write_text(
        '{"id": "a", "title": "a", "vectors": {"img": [1, 0, 0]}}\n'
        '{"id": "b", "title": "b", "vectors": {"img": [NaN, 0, 0]}}\n'
        '{"id": "c", "title": "c", "vectors": {"img": [Infinity, 0, 0]}}\n'
    )
    loaded = load_items(jsonl)
    assert [i.id for i in loaded.items] == ["a"]
    assert [(e.line, e.field) for e in loaded.errors] == [(2, "vectors.img"), (3, "vectors.img")]
    csv = tmp_path / "items.csv"
    csv.write_text('id,title,vectors.img\nx,one,"[1, 0, 0]"\ny,two,"[1, 0, oops]"\n')
    found = load_items(csv)
    assert [i.id for i in found.items] == ["x"]
    assert [(e.line, e.field) for e in found.errors] == [(3, "vectors.img")]
    assert "array of numbers" in found.errors[0].reason


def _cli(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--data", str(data), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_declares_spaces_ingests_vectors_and_searches_by_vector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    plain = tmp_path / "plain.jsonl"
    plain.write_text('{"id": "p1", "title": "plain"}\n')
    assert _cli(capsys, data, "ingest", str(plain), "--model", "hashing-64")[0] == 0
    code, out, _ = _cli(capsys, data, "space", "add", "img", "--dim", "3")
    assert (code, out.strip()) == (0, "img: 3-d, cosine")
    assert _cli(capsys, data, "space", "add", "img", "--dim", "3")[0] == 0  # alike: a no-op
    code, _, err = _cli(capsys, data, "space", "add", "img", "--dim", "4")
    assert code != 0 and len(err.strip().splitlines()) == 1 and "img" in err
    code, _, err = _cli(capsys, data, "space", "add", "Img", "--dim", "3")
    assert code == 2 and "space" in err and len(err.strip().splitlines()) == 1
    code, out, _ = _cli(capsys, data, "space", "list", "--json")
    assert json.loads(out)["spaces"] == [
        {"name": "text", "dim": 64, "metric": "cosine"},
        {"name": "img", "dim": 3, "metric": "cosine"},
    ]
    csv = tmp_path / "own.csv"
    csv.write_text('id,title,vectors.img\nr1,red,"[1, 0, 0]"\ng1,green,"[0, 1, 0]"\n')
    code, out, _ = _cli(capsys, data, "ingest", str(csv), "--json")
    assert code == 0 and json.loads(out)["new"] == 2
    code, out, _ = _cli(
        capsys, data, "search", "--vector", "[0.1, 1, 0]", "--space", "img", "--json"
    )
    assert code == 0
    assert [h["id"] for h in json.loads(out)["items"]] == ["g1", "r1"]
    # A bad vector in a file: the line and field are named, nothing is ingested.
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "b1", "title": "fine", "vectors": {"img": [0, 0, 1]}}\n'
        '{"id": "b2", "title": "short", "vectors": {"img": [0, 1]}}\n'
    )
    code, _, err = _cli(capsys, data, "ingest", str(bad))
    assert code != 0 and "line 2" in err and "vectors.img" in err
    with Engine.open(str(data)) as engine:
        assert engine.ids() == ["g1", "p1", "r1"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        pytest.param(["search", "moon", "--vector", "[1, 0, 0]"], "text", id="both"),
        pytest.param(["search"], "text", id="neither"),
        pytest.param(["search", "moon", "--space", "img"], "space", id="space-with-text"),
        pytest.param(["search", "--vector", "1,0,0", "--space", "img"], "vector", id="not-json"),
        pytest.param(["search", "--vector", "[1, 0]", "--space", "img"], "vector", id="short"),
        pytest.param(["search", "--vector", "[1, 0, 0]", "--space", "nope"], "space", id="space"),
    ],
)
def test_a_bad_cli_search_is_one_line_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], field: str
) -> None:
    data = tmp_path / "data"
    with Engine.open(str(data), model="hashing-64") as engine:
        engine.add_space("img", 3)
        engine.add_items([{"id": "a", "title": "moon", "vectors": {"img": [1, 0, 0]}}])
    code, out, err = _cli(capsys, data, *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and field in err, err


def test_a_vectors_key_an_older_version_stored_as_metadata_is_still_read() -> None:
    """`vectors` was no field before: a record stored then may hold it as metadata, of any
    JSON; the store must still read that item."""
    record = {"id": "a", "title": "t", "body": "", "tags": [], "vectors": "old", "n": 1}
    item = stored_item(record)
    assert (item.vectors, item.metadata) == ({}, {"vectors": "old", "n": 1})
