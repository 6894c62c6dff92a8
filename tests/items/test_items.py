"""Items: validation names the field, templates decide the text, loaders name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from likewise.errors import InvalidInput
from likewise.items import ContentTemplate, load_items, parse_item


def test_top_level_extras_become_metadata() -> None:
    item = parse_item({"id": "a1", "title": "T", "category": "news", "metadata": {"x": 1}})
    assert item.metadata == {"x": 1, "category": "news"}
    assert item.to_record() == {
        "id": "a1",
        "title": "T",
        "body": "",
        "tags": [],
        "x": 1,
        "category": "news",
    }


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        pytest.param({"title": "no id"}, "id", "required", id="missing-id"),
        pytest.param({"id": "  "}, "id", "blank", id="blank-id"),
        pytest.param({"id": 5}, "id", "string", id="numeric-id"),
        pytest.param({"id": "a", "tags": "space"}, "tags", "list", id="tags-string"),
        pytest.param({"id": "a", "tags": [1]}, "tags.0", "string", id="tags-number"),
        pytest.param({"id": "a", "x": 1, "metadata": {"x": 2}}, None, "both", id="clash"),
        pytest.param({"id": "a", "metadata": {"p": float("nan")}}, "metadata", "NaN", id="nan"),
    ],
)
def test_bad_records_name_field_and_reason(
    record: dict[str, object], field: str | None, reason: str
) -> None:
    with pytest.raises(InvalidInput, match=reason) as info:
        parse_item(record, line=7)
    assert info.value.line == 7
    if field:
        assert info.value.field == field
        assert f"field {field!r}" in str(info.value)


def test_template_renders_and_hashes_only_embedded_fields() -> None:
    template = ContentTemplate.parse("title,tags,genre")
    a = parse_item(
        {"id": "a", "title": "Alien", "tags": ["space", "horror"], "genre": "sf", "price": 1}
    )
    assert template.render(a) == "Alien\nspace, horror\nsf"
    b = parse_item({**a.to_record(), "price": 2, "body": "ignored by this template"})
    assert template.content_hash(a) == template.content_hash(b)
    assert a.record_hash() != b.record_hash()
    c = parse_item({**a.to_record(), "title": "Aliens"})
    assert template.content_hash(a) != template.content_hash(c)
    with pytest.raises(InvalidInput, match="template"):
        ContentTemplate.parse(" , ")


def test_jsonl_loader_reports_every_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text(
        '{"id": "a", "title": "ok"}\n'
        "\n"
        "{not json}\n"
        '{"id": "b", "tags": "x"}\n'
        '{"id": "a", "title": "again"}\n'
        '["a list"]\n'
    )
    result = load_items(path)
    assert [i.id for i in result.items] == ["a"]
    assert [(e.line, e.field) for e in result.errors] == [
        (3, None),
        (4, "tags"),
        (5, "id"),
        (6, None),
    ]
    assert "duplicate id 'a' (first on line 1)" in str(result.errors[2])


def test_csv_loader_types_cells(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text(
        "id,title,tags,price,in_stock,published_at,sku\n"
        "a,Lamp,home|light,9.5,true,2026-05-01,007\n"
        "b,Chair,,12,false,,\n"
    )
    result = load_items(path)
    assert not result.errors
    a, b = result.items
    assert a.tags == ("home", "light")
    assert a.metadata == {
        "price": 9.5,
        "in_stock": True,
        "published_at": "2026-05-01",
        "sku": "007",
    }
    assert b.metadata == {"price": 12, "in_stock": False}


def test_loader_refuses_unknown_formats(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(InvalidInput, match="unknown format"):
        load_items(tmp_path / "x.txt")
    with pytest.raises(InvalidInput, match="no such file"):
        load_items(tmp_path / "missing.jsonl")


@pytest.mark.parametrize(
    ("record", "field"),
    [
        pytest.param({"id": "a\x00b"}, "id", id="id"),
        pytest.param({"id": "a\tb"}, "id", id="id-tab"),
        pytest.param({"id": "a", "title": "x\x00"}, "title", id="title"),
        pytest.param({"id": "a", "tags": ["t\x00"]}, "tags", id="tag"),
        pytest.param({"id": "a", "category": "x\x00"}, "metadata", id="metadata-value"),
        pytest.param({"id": "a", "m": {"k\x00": 1}}, "metadata", id="nested-key"),
    ],
)
def test_a_nul_character_is_refused_where_no_database_could_store_it(
    record: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_item(record)
    assert info.value.field == field
    assert parse_item({"id": "a", "body": "two\nlines\tand a tab"}).body.count("\n") == 1
