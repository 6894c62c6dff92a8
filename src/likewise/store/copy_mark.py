"""How far a `likewise copy` into a store got: the blob `likewise.copy` says `unfinished`
from before the first row is written until the copy is read back and verified. A store whose
copy never finished is refused wherever it is opened, with what to do."""

from __future__ import annotations

import json
import time

from likewise.errors import StoreError
from likewise.store.base import Store

__all__ = ["MARK", "UNFINISHED", "check_finished", "mark"]

MARK = "likewise.copy"
UNFINISHED = (
    "the destination holds a copy that did not finish (it stopped before it was verified): "
    "delete it (the folder, or drop and create the database again) and run copy again"
)


def mark(store: Store, state: str) -> None:
    """Record how far a copy into `store` got (`unfinished`, `verified`)."""
    store.put_blob(MARK, json.dumps({"state": state, "at": time.time()}).encode())


def check_finished(store: Store) -> None:
    """Refuse a store a copy was writing into and never verified."""
    found = store.get_blob(MARK)
    if found is not None and _state(found) != "verified":
        raise StoreError(UNFINISHED)


def _state(data: bytes) -> str | None:
    try:
        found = json.loads(data)
    except ValueError:
        return None
    return found.get("state") if isinstance(found, dict) else None
