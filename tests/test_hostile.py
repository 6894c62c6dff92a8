"""Issue 18's hostile inputs at the Python API, on both backends: named, nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from likewise import Engine
from likewise.errors import InvalidInput
from likewise.events.loaders import load_events
from likewise.items.loaders import json_object, load_items
from likewise.items.model import parse_item

LONE = "t\ud800"


@pytest.fixture
def engine(location: str) -> Engine:
    eng = Engine.open(location, model="hashing-64")
    eng.add_items([{"id": "a1", "title": "Moon"}])
    return eng


def test_lone_surrogates_are_named_and_store_nothing(engine: Engine) -> None:
    with engine:
        cases = [
            (lambda: engine.add_items([{"id": "s", "title": LONE}]), "items[0].title"),
            (lambda: engine.add_items([{"id": LONE}]), "items[0].id"),
            (lambda: engine.record("u", "a1", "click", context={"k": LONE}), "context.k"),
            (lambda: engine.search(LONE), "text"),
            (lambda: engine.onboard("u2", text=LONE), "text"),
            (lambda: engine.track("u", "mine", ["a1"], context={"x": [LONE]}), "context.x[0]"),
        ]
        for call, field in cases:
            with pytest.raises(InvalidInput) as caught:
                call()
            assert caught.value.field == field
        stats = engine.stats()
        assert (stats["items"], stats["events"]) == (1, 0)


def test_a_filter_with_a_lone_surrogate_is_named(engine: Engine) -> None:
    with engine:
        for where, field in (
            ({"category": LONE}, "where.category"),
            ({LONE: 1}, "where.t\\ud800"),
            ({"tags": {"any": ["ok", LONE]}}, "where.tags.any"),
        ):
            for call in (
                lambda w=where: engine.search("moon", where=w),
                lambda w=where: engine.similar("a1", where=w),
                lambda w=where: engine.recommend_from(["a1"], where=w),
            ):
                with pytest.raises(InvalidInput) as caught:
                    call()
                assert caught.value.field == field


def test_nesting_is_bounded() -> None:
    for levels, field in ((1000, "where"), (40, "where")):
        text = '{"a": ' * levels + "1" + "}" * levels
        with pytest.raises(InvalidInput) as caught:
            json_object(text, "where")
        assert caught.value.field is not None and caught.value.field.startswith(field)
    assert json_object('{"a": {"b": 1}}', "where") == {"a": {"b": 1}}


def test_a_forgotten_user_leaves_no_trace_in_any_file(tmp_path: Path) -> None:
    who = "zq-user-7f3a@example.com"
    data = tmp_path / "data"
    with Engine.open(str(data), model="hashing-64") as engine:
        engine.add_items([{"id": f"i{k}", "title": f"moon {k}"} for k in range(5)])
        for k in range(3):
            engine.record(who, f"i{k}", "like", context={"email": who})
        engine.recommend(who, n=2)  # an impression, written in the background
        engine.forget_user(who)
        found = [p.name for p in data.rglob("*") if p.is_file() and who.encode() in p.read_bytes()]
        assert found == []  # not in the database, not in its write-ahead log
    found = [p.name for p in data.rglob("*") if p.is_file() and who.encode() in p.read_bytes()]
    assert found == []


HUGE = 10**400  # valid JSON ("1" and 400 zeros), a valid int, and more than any float holds


def test_an_integer_no_float_holds_is_kept_and_the_store_opens_again(location: str) -> None:
    """Filters compare numbers as floats, and `float(10**400)` raises: the embedded store's
    filter columns did so for the item, then on every open, so one item bricked the store."""
    with Engine.open(location, model="hashing-64") as engine:
        engine.add_items([{"id": "a1", "title": "Moon"}, {"id": "h1", "title": "Moon", "n": HUGE}])
        assert engine.get("h1").metadata["n"] == HUGE
        assert [h.id for h in engine.similar("a1", n=5)] == ["h1"]
        # No float holds it, as none holds NaN: no number filter sees it, "exists" does.
        assert engine.search("moon", where={"n": {"gt": 0}}) == []
        assert [h.id for h in engine.search("moon", where={"n": {"exists": True}})] == ["h1"]
    with Engine.open(location) as engine:
        assert engine.count() == 2 and engine.get("h1").metadata["n"] == HUGE


def test_a_filter_with_an_integer_no_float_holds_is_named(engine: Engine) -> None:
    with engine:
        for where, field in (
            ({"n": HUGE}, "where.n"),
            ({"n": {"lt": -HUGE}}, "where.n.lt"),
            ({"n": {"in": [1, HUGE]}}, "where.n.in"),
        ):
            with pytest.raises(InvalidInput) as caught:
                engine.search("moon", where=where)
            assert caught.value.field == field and "beyond the range" in caught.value.reason


def test_a_positive_event_on_an_item_with_no_direction_counts(engine: Engine) -> None:
    """The hashing model finds no word in "!!!", so the item's vector is zero: a first like of
    it raised ValueError ("the item vector is zero"), a 500 over HTTP."""
    with engine:
        engine.add_items([{"id": "bang", "title": "!!!"}, {"id": "b2", "title": "?"}])
        assert engine.record("u1", "bang", "like") is True  # recorded, not a resend
        report = engine.record_many(
            [{"user_id": f"u{k}", "item_id": "b2", "type": "like"} for k in range(2, 5)]
        )
        assert report.accepted == 3
        profile = engine.profile("u1")
        assert (profile["positives"], profile["recent_positives"]) == (1, ["bang"])
        engine.record("u1", "a1", "like")  # a direction at last: the profile starts there
        assert engine.profile("u1")["nearest"][0]["id"] == "a1"


@pytest.mark.parametrize(
    ("name", "content", "line", "field", "reason"),
    [
        pytest.param(
            "a.jsonl", b'{"id": "b1", "title": "caf\xe9"}\n', 1, None, "not UTF-8", id="latin1"
        ),
        pytest.param("a.csv", b"id,title\nb1,caf\xe9\n", 2, "title", "not UTF-8", id="latin1-csv"),
        pytest.param(
            "a.jsonl",
            b'{"id": "b1", "m": ' + b"[" * 1000 + b"]" * 1000 + b"}\n",
            1,
            None,
            "nested more than",
            id="deep",
        ),
        pytest.param(
            "a.jsonl",
            b'{"id": "b1", "m": ' + b"9" * 5000 + b"}\n",
            1,
            None,
            "too many digits",
            id="digits",
        ),
    ],
)
def test_a_bad_line_is_named_not_raised(
    tmp_path: Path, name: str, content: bytes, line: int, field: str | None, reason: str
) -> None:
    """Each of these raised from the loader (UnicodeDecodeError, RecursionError, ValueError),
    a traceback from `likewise ingest`; now each is the bad line it is, the rest still read."""
    path = tmp_path / name
    path.write_bytes(content + (b'{"id": "ok"}\n' if name.endswith(".jsonl") else b"ok,fine\n"))
    loaded = load_items(path)
    assert [i.id for i in loaded.items] == ["ok"]
    [error] = loaded.errors
    assert (error.line, error.field) == (line, field) and reason in error.reason


def test_a_file_a_spreadsheet_wrote_is_read(tmp_path: Path) -> None:
    """A byte order mark (Excel's "CSV UTF-8") hid the `id` column; a cell over 128 KiB ended
    the read (csv.Error); a long integer lost its last digits (read through float)."""
    path = tmp_path / "items.csv"
    body = "x" * 1_000_000
    path.write_bytes(f"\ufeffid,title,sku\nb1,{body},12345678901234567891\n".encode())
    [item] = load_items(path).items
    assert (item.id, item.title, item.metadata) == ("b1", body, {"sku": 12345678901234567891})
    events = tmp_path / "events.jsonl"
    events.write_bytes(b'\xef\xbb\xbf{"user_id": "u1", "item_id": "b1", "type": "click"}\r\n')
    assert [e.item_id for e in load_events(events).events] == ["b1"]


def test_a_header_that_names_a_column_twice_is_refused(tmp_path: Path) -> None:
    """csv.DictReader keeps the last of two cells under one name and drops the other."""
    path = tmp_path / "items.csv"
    path.write_text("id,title,title\nb1,One,Two\n")
    with pytest.raises(InvalidInput) as caught:
        load_items(path)
    assert (caught.value.line, caught.value.field) == (1, "title")


def test_numbers_past_a_float_and_items_with_no_direction_are_named(tmp_path: Path) -> None:
    """Found by the fuzz suite: an experiment weight of 10**400 or true was a 500 (or read as
    1), `min_score=10**400` an OverflowError, and onboarding from items whose vectors are
    zero named `text`."""
    with Engine.open(str(tmp_path / "data"), model="hashing-64") as engine:
        engine.add_items([{"id": "z", "title": "item 35"}, {"id": "a", "title": "space"}])
        for weight in (10**400, True, "1", float("nan")):
            variant = "h:strategy=hybrid,weights=" + json.dumps({"content": weight})
            with pytest.raises(InvalidInput, match="finite numbers") as bad:
                engine.create_experiment("t", [variant, "e:strategy=ema"])
            assert bad.value.field == "variant"
        with pytest.raises(InvalidInput, match="finite") as bad:
            engine.search("space", min_score=10**400)
        assert bad.value.field == "min_score"
        with pytest.raises(InvalidInput) as bad:
            engine.onboard("u1", items=["z"])
        assert bad.value.field == "items"


def test_a_key_given_at_top_level_and_in_metadata_is_named() -> None:
    """It was a 422 with no field (a model validator's own error has no place)."""
    with pytest.raises(InvalidInput, match="given both") as bad:
        parse_item({"id": "x", "a": 1, "metadata": {"a": 2}})
    assert bad.value.field == "metadata.a"


def test_onboarding_text_is_blank_as_the_document_says(tmp_path: Path) -> None:
    """The document's pattern reads blank as JSON Schema does (ECMA-262 `\\S`); the server
    once refused by `str.strip` and accepted by `\\w` where the two disagree ("Û" was
    refused by the document, accepted by the server). A text the model places nowhere is
    valid: a 409, as for items."""
    from likewise.errors import Conflict

    with Engine.open(str(tmp_path / "data"), model="hashing-64") as engine:
        engine.add_items([{"id": "a", "title": "space rocket"}])
        for blank in (" ", "\ufeff", "\u3000\t", "\u2028"):
            with pytest.raises(InvalidInput, match="not blank") as bad:
                engine.onboard("u1", text=blank)
            assert bad.value.field == "text" and not isinstance(bad.value, Conflict)
        with pytest.raises(Conflict, match="places these nowhere") as nowhere:
            engine.onboard("u1", text="!!!")
        assert nowhere.value.field == "text"
        engine.onboard("u2", text="Û")  # a letter the hashing model places
        assert engine.profile("u2")["nearest"]
