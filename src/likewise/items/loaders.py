"""Reading catalogs from JSONL, JSON and CSV files, with the line of every bad record."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
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
    lines: list[int] = field(default_factory=list)  # the line of each item


def load_items(path: str | Path) -> LoadResult:
    """Read every record of a `.jsonl`, `.json` or `.csv` file (see `read_rows`); bad records
    are collected, not raised.

    CSV: `id`, `title`, `body` are text; `tags` is split on "|"; a column `vectors.SPACE`
    holds the item's vector in that space as a JSON array (an empty cell: none); other
    columns become metadata, with "true"/"false" read as booleans, numbers as numbers (but
    "007" stays text) and empty cells left out.
    """
    rows = read_rows(path, required="id", convert=_csv_record)
    items: list[Item] = []
    errors: list[InvalidInput] = []
    lines: list[int] = []
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
            lines.append(line)
        except InvalidInput as exc:
            errors.append(exc)
    return LoadResult(items, errors, lines)


def read_rows(
    path: str | Path, *, required: str, convert: Callable[[dict[str, str]], dict[str, Any]]
) -> Iterator[tuple[int, Any]]:
    """(line, record or InvalidInput) of a `.jsonl`, `.json` or `.csv` file; `convert` maps
    CSV rows.

    The file is UTF-8, with or without a byte order mark (spreadsheets write one). A line with
    bytes that are not UTF-8 is a bad line, named like any other: the rest are still read.
    A `.json` file whose text starts with `[` is one JSON array of records, as an export or an
    API writes them; its "line" is then the record's place in the array, counting from 1 as
    lines do (any other `.json` file is read as JSONL). `-` reads standard input the same way
    (`cat items.jsonl | likewise ingest -`). `.jsonl` and `.ndjson` are always one record a line.
    """
    if str(path) == "-":
        return _json_text(_text(sys.stdin.buffer))
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}", field="file")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl_rows(path)
    if suffix == ".json":
        return _json_rows(path)
    if suffix == ".csv":
        return _csv_rows(path, required, convert)
    raise InvalidInput(f"unknown format {suffix!r}; use .jsonl, .json or .csv", field="file")


# Bytes that are not UTF-8, as `surrogateescape` keeps them: U+DC80..U+DCFF. A JSON escape
# (`\udc80`) is six ASCII characters in the text, so these come from the file's bytes only.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
NOT_UTF8 = "is not UTF-8 text (save the file as UTF-8)"


def _open(path: Path) -> Any:
    return path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")


def _text(binary: Any) -> Any:
    """A byte stream read as `_open` reads a file."""
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    with _open(path) as fh:
        yield from _jsonl_lines(fh)


def _json_rows(path: Path) -> Iterator[tuple[int, Any]]:
    with _open(path) as fh:
        yield from _json_text(fh)


def _json_text(fh: Any) -> Iterator[tuple[int, Any]]:
    """A JSON array of records when the first character that is not a space is `[`, else
    JSONL. Only that first character is read ahead, so JSONL still streams line by line."""
    head = ""
    while not head.strip():
        char = fh.read(1)
        if not char:
            break
        head += char
    if head.endswith("["):
        yield from _array(head + fh.read())
    else:  # the rest of the first line, then the others as they come
        yield from _jsonl_lines(itertools.chain(io.StringIO(head + fh.readline(), newline=""), fh))


def _array(text: str) -> Iterator[tuple[int, Any]]:
    """(place from 1, record or InvalidInput) of a JSON array. Text that is not one JSON value
    cannot be cut into records: the whole file is refused, naming where it breaks."""
    try:  # text starts with "[": a list, or not JSON at all
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise InvalidInput(f"not a valid JSON array: {exc.msg} ({where})", field="file") from None
    except RecursionError:
        raise InvalidInput(
            f"not valid JSON: nested more than {MAX_DEPTH} deep", field="file"
        ) from None
    except ValueError:  # an integer of more digits than int() reads
        raise InvalidInput("not valid JSON: a number with too many digits", field="file") from None
    broken = _NOT_UTF8.search(text) is not None
    for place, record in enumerate(records, start=1):
        if broken and _NOT_UTF8.search(json.dumps(record, ensure_ascii=False)):
            yield place, InvalidInput(NOT_UTF8, line=place)
        else:
            yield place, record


def _jsonl_lines(fh: Iterable[str]) -> Iterator[tuple[int, Any]]:
    # newline="" keeps "\r\n" whole; a line is what ends in "\n" (or "\r" alone)
    for line, text in enumerate(fh, start=1):
        if not text.strip():
            continue
        if _NOT_UTF8.search(text):
            yield line, InvalidInput(NOT_UTF8, line=line)
            continue
        yield line, _json_line(text, line)


def _json_line(text: str, line: int) -> Any:
    """One JSONL line's value, or the InvalidInput that names why it has none."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return InvalidInput(f"not valid JSON: {exc.msg}", line=line)
    except RecursionError:  # the parser's own stack, long before MAX_DEPTH could be checked
        return InvalidInput(f"not valid JSON: nested more than {MAX_DEPTH} deep", line=line)
    except ValueError:  # an integer of more digits than int() reads (sys.int_max_str_digits)
        return InvalidInput("not valid JSON: a number with too many digits", line=line)


def _csv_rows(
    path: Path, required: str, convert: Callable[[dict[str, str]], dict[str, Any]]
) -> Iterator[tuple[int, Any]]:
    # A cell may be as long as a JSONL value may: the whole file is held in memory anyway, and
    # csv's default cap (128 KiB) would end the read with an error that names no line.
    csv.field_size_limit(max(csv.field_size_limit(), _CELL_LIMIT))
    with _open(path) as fh:
        reader = csv.DictReader(fh)
        try:
            names = reader.fieldnames
            _check_header(names, required)
            for row in reader:
                line = reader.line_num
                yield line, _csv_row(row, line, convert)
        except csv.Error as exc:
            line = reader.line_num
            raise InvalidInput(f"not valid CSV: {exc}", field="file", line=line) from None


_CELL_LIMIT = 2**31 - 1  # the largest a C long holds on every platform


def _check_header(names: Sequence[str] | None, required: str) -> None:
    if names is None or required not in names:
        raise InvalidInput(f"the header must have a {required!r} column", field=required, line=1)
    seen: set[str] = set()
    for name in names:
        if _NOT_UTF8.search(name):
            raise InvalidInput(NOT_UTF8, field=_shown(name), line=1)
        if name and name in seen:  # DictReader would keep the last cell and drop the others
            raise InvalidInput("the header names this column twice", field=name, line=1)
        seen.add(name)


def _csv_row(
    row: dict[str, Any], line: int, convert: Callable[[dict[str, str]], dict[str, Any]]
) -> Any:
    if None in row:
        return InvalidInput("more cells than header columns", line=line)
    if None in row.values():  # a short row: DictReader fills the rest with None
        return InvalidInput("fewer cells than header columns", line=line)
    for name, text in row.items():
        if _NOT_UTF8.search(text):
            return InvalidInput(NOT_UTF8, field=name, line=line)
    return convert(row)


def _shown(text: str) -> str:
    """`text` as an error may print it: bytes that are not UTF-8 written as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _csv_record(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, text in row.items():
        if key in ("id", "title", "body", "image"):
            out[key] = text
        elif key == "tags":
            out[key] = [t.strip() for t in text.split("|") if t.strip()]
        elif key.startswith(VECTORS) and key != VECTORS:
            if text.strip():
                out.setdefault("vectors", {})[key.removeprefix(VECTORS)] = _vector_cell(text)
        elif text != "":
            out[key] = csv_value(text)
    return out


VECTORS = "vectors."  # a CSV column `vectors.image` holds the item's vector in space `image`


def _vector_cell(text: str) -> Any:
    """A CSV cell's vector, a JSON array; text that is not JSON stays text, which the item's
    check then refuses, naming the column's space (`vectors.image`) and the line."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def csv_value(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if not _NUMBER.match(low):
        return text
    if "." in low or "e" in low:
        return float(low)  # 1e400 is infinite: the record's check names the column
    try:
        return int(low)  # exact: float() would round 12345678901234567891
    except ValueError:  # more digits than int() reads: a code, not a quantity
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
    except ValueError:  # an integer of more digits than int() reads
        raise InvalidInput("not valid JSON: a number with too many digits", field=field) from None
    if not isinstance(value, dict):
        raise InvalidInput("must be a JSON object", field=field)
    check_json(value, field)
    return value
