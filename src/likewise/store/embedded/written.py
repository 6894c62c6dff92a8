"""The rows a write of this process put in a space, handed to its own sync."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Written"]


@dataclass
class Written:
    """The rows one write put in a space's `vectors` table, labels `first`.. in order, each
    live, with its item's record: handed to the writer's own `sync`, which need not read
    back what it has just written (another process's rows are read as always)."""

    generation: int  # of the space's labels when written: another means renumbered since
    first: int
    ids: list[str] = field(default_factory=list)
    blobs: list[bytes] = field(default_factory=list)
    records: list[Mapping[str, Any]] = field(default_factory=list)
