"""Reading event logs from JSONL and CSV files, with the line of every bad record."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from likewise.errors import InvalidInput
from likewise.events.model import Event, parse_event
from likewise.items.loaders import csv_value, read_rows

__all__ = ["EventsFile", "load_events"]

_TEXT = ("user_id", "item_id", "type", "event_id", "recommendation_id", "timestamp")


@dataclass
class EventsFile:
    events: list[Event]
    lines: list[int]  # the line of each event
    errors: list[InvalidInput]


def load_events(path: str | Path) -> EventsFile:
    """Read every event of a `.jsonl` or `.csv` file; bad records are collected, not raised.

    CSV columns: `user_id`, `item_id`, `type`, `value`, `timestamp`, `event_id`,
    `recommendation_id`; any other non-empty column goes into `context`.
    """
    loaded = EventsFile([], [], [])
    for line, row in read_rows(path, required="user_id", convert=_csv_event):
        try:
            if isinstance(row, InvalidInput):
                raise row
            loaded.events.append(parse_event(row, line=line))
            loaded.lines.append(line)
        except InvalidInput as exc:
            loaded.errors.append(exc)
    return loaded


def _csv_event(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    context: dict[str, Any] = {}
    for key, text in row.items():
        if text == "":
            continue
        if key in _TEXT:
            out[key] = text
        elif key == "value":
            out[key] = csv_value(text)
        else:
            context[key] = csv_value(text)
    if context:
        out["context"] = context
    return out
