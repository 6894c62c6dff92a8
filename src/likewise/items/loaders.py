"""Reading catalogs from JSONL and CSV files, with the line of every bad record."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from likewise.errors import InvalidInput
from likewise.items.model import MAX_DEPTH, Item, check_json, parse_item

__all__ = ["LoadResult", "csv_value", "json_object", "load_items", "read_rows"]

# "007" and "1e5x" stay text: codes with leading zeros are not numbers.
_NUMBER = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$")


@dataclass
class LoadResult:
    items: list[Item]
    errors: list[InvalidInput]


def load_items(path: str | Path) -> LoadResult:
    """Read every record of a `.jsonl` or `.csv` file; bad records are collected, not raised.

    CSV: `id`, `title`, `body` are text; `tags` is split on "|"; other columns become
    metadata, with "true"/"false" read as booleans, numbers as numbers (but "007" stays text)
    and empty cells left out.
    """
    rows = read_rows(path, required="id", convert=_csv_record)
    items: list[Item] = []
    errors: list[InvalidInput] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        try:
            if isinstance(row, InvalidInput):
                raise row
            item = parse_item(row, line=line)
            if item.id in seen:
                raise InvalidInput(
                    f"duplicate id {item.id!r} (first on line {seen[item.id]})",
                    field="id",
                    line=line,
                )
            seen[item.id] = line
            items.append(item)
        except InvalidInput as exc:
            errors.append(exc)
    return LoadResult(items, errors)


def read_rows(
    path: str | Path, *, required: str, convert: Callable[[dict[str, str]], dict[str, Any]]
) -> Iterator[tuple[int, Any]]:
    """(line, record or InvalidInput) of a `.jsonl` or `.csv` file; `convert` maps CSV rows."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}", field="file")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl_rows(path)
    if suffix == ".csv":
        return _csv_rows(path, required, convert)
    raise InvalidInput(f"unknown format {suffix!r}; use .jsonl or .csv", field="file")


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                yield line, json.loads(text)
            except json.JSONDecodeError as exc:
                yield line, InvalidInput(f"not valid JSON: {exc.msg}", line=line)


def _csv_rows(
    path: Path, required: str, convert: Callable[[dict[str, str]], dict[str, Any]]
) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or required not in reader.fieldnames:
            raise InvalidInput(
                f"the header must have a {required!r} column", field=required, line=1
            )
        for row in reader:
            line = reader.line_num
            if None in row:
                yield line, InvalidInput("more cells than header columns", line=line)
                continue
            if None in row.values():  # a short row: DictReader fills the rest with None
                yield line, InvalidInput("fewer cells than header columns", line=line)
                continue
            yield line, convert(row)


def _csv_record(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, text in row.items():
        if key in ("id", "title", "body", "image"):
            out[key] = text
        elif key == "tags":
            out[key] = [t.strip() for t in text.split("|") if t.strip()]
        elif text != "":
            out[key] = csv_value(text)
    return out


def csv_value(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if _NUMBER.match(low):
        number = float(low)
        return int(number) if number.is_integer() and "." not in low and "e" not in low else number
    return text


def json_object(text: str | None, field: str) -> dict[str, Any] | None:
    """A JSON object given as text (`--where`, `?where=`, `?context=`), None for no text, or an
    InvalidInput naming `field`."""
    if text is None or text == "":
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"not valid JSON: {exc.msg}", field=field) from None
    except RecursionError:
        raise InvalidInput(f"nested more than {MAX_DEPTH} deep", field=field) from None
    if not isinstance(value, dict):
        raise InvalidInput("must be a JSON object", field=field)
    check_json(value, field)
    return value
