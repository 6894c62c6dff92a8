"""Where a feed's changes come from: files dropped in a folder, and an HTTP JSON feed.

Each source turns what it read into `FeedChange`s for the store's queue: a record is an
upsert, a record `{"id": ..., "deleted": true}` (a CSV column `deleted` = true) a deletion,
and a record that cannot be read a failure naming where it was (`file:line`, `url[k]`) and
its field. A bad record never stops its source: the others are queued.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from likewise.errors import InvalidInput
from likewise.items.limits import Limits
from likewise.items.loaders import load_items
from likewise.items.model import Item, parse_item
from likewise.store.feed import Cursor, FeedChange

__all__ = ["SUFFIXES", "Folder", "change_of", "failure", "poll"]

SUFFIXES = (".jsonl", ".ndjson", ".csv", ".json")
TIMEOUT = 30.0  # seconds one poll of a URL may take


def change_of(item: Item, source: str) -> FeedChange:
    """The queued change an item read from `source` makes: its deletion when it says
    `deleted: true`, else its upsert, with the hash of its record."""
    if item.metadata.get("deleted") is True:
        return FeedChange(item.id, "delete", source, hash="deleted")
    fields = item.to_record()
    if item.vectors:  # its own vectors, which `to_record` leaves to the spaces
        fields["vectors"] = item.vectors
    if item.image_data is not None:  # its picture's bytes, which a store never keeps: the
        # queue holds them until the change is applied (a done change keeps no record)
        fields["image_data"] = base64.b64encode(item.image_data).decode("ascii")
    record = json.dumps(fields, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(record.encode("utf-8")).hexdigest()
    return FeedChange(item.id, "upsert", source, hash=digest, record=record)


def failure(exc: InvalidInput, where: str, item_id: str = "") -> FeedChange:
    """A record that could not be read, kept in the queue as failed to be shown."""
    error = {"source": where, "field": exc.field, "error": exc.reason}
    return FeedChange(item_id, "fail", where, error=json.dumps(error, ensure_ascii=False))


class Folder:
    """A folder of drops. A file is taken once its size and time were the same at two looks
    in a row (a writer still appending changes them), so a half-written file waits; writing
    it elsewhere and renaming it in is taken at the next look but one. A file's key is its
    path, size and time: the same file is taken once, a new version of it again."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.last: dict[Path, tuple[int, int]] = {}

    def ready(self) -> Iterator[tuple[str, Path]]:
        """(key, path) of each file that stopped changing since the last look, by name."""
        if not self.path.is_dir():
            raise InvalidInput(f"no such folder: {self.path}", field="feed_folders")
        seen: dict[Path, tuple[int, int]] = {}
        for path in sorted(self.path.iterdir()):
            if path.name.startswith(".") or path.suffix.lower() not in SUFFIXES:
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:  # renamed or removed meanwhile
                continue
            seen[path] = (stat.st_size, stat.st_mtime_ns)
            if self.last.get(path) == seen[path]:
                yield f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}", path
        self.last = seen

    @staticmethod
    def read(path: Path) -> list[FeedChange]:
        """The changes one file holds, its bad records as failures naming `name:line`."""
        try:
            loaded = load_items(path)
        except InvalidInput as exc:  # an unreadable file is one failure, not a stopped feed
            return [failure(exc, path.name)]
        changes = [
            change_of(item, f"{path.name}:{line}")
            for item, line in zip(loaded.items, loaded.lines, strict=True)
        ]
        changes += [failure(exc, f"{path.name}:{exc.line}") for exc in loaded.errors]
        return changes


def poll(url: str, cursor: Cursor | None, limits: Limits) -> tuple[list[FeedChange], Cursor] | None:
    """The changes at `url` and its new cursor, or None when it answers 304 Not Modified to
    the `ETag` / `Last-Modified` it gave last time. The body is a JSON array of records, or
    an object whose `items` is one."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if cursor is not None and cursor.etag:
        request.add_header("If-None-Match", cursor.etag)
    if cursor is not None and cursor.modified:
        request.add_header("If-Modified-Since", cursor.modified)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            body = response.read()
            etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return None
        raise InvalidInput(f"{url} answered {exc.code}", field="feed_urls") from None
    except (urllib.error.URLError, OSError) as exc:
        raise InvalidInput(f"{url} could not be read: {exc}", field="feed_urls") from None
    if modified is not None and email.utils.parsedate_tz(modified) is None:
        modified = None  # not an HTTP date: sending it back would mean nothing
    return records_of(url, body, limits), Cursor(url, etag, modified)


def records_of(url: str, body: bytes, limits: Limits) -> list[FeedChange]:
    """The changes of a feed's body; a body that is no JSON array is one failure."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return [failure(InvalidInput("is not JSON", field="body"), url)]
    if isinstance(data, Mapping):
        data = data.get("items")
    if not isinstance(data, list):
        return [failure(InvalidInput("give a JSON array, or {items: [...]}", field="items"), url)]
    changes: list[FeedChange] = []
    for k, record in enumerate(data):
        where = f"{url}[{k}]"
        try:
            changes.append(change_of(parse_item(record, limits=limits), where))
        except InvalidInput as exc:
            known = record.get("id") if isinstance(record, Mapping) else None
            changes.append(failure(exc, where, known if isinstance(known, str) else ""))
    return changes
