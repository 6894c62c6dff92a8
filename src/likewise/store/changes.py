"""What a write told to the other servers (or processes) on one store changed, as the result
caches key it: some users' events, a new trained model, or anything else; and `writing_for`,
which marks the writes of this thread as some users' or as a model, for the backend that
tells them (and, on PostgreSQL, keeps the LSN their reads wait for)."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Change", "writing", "writing_for"]

_local = threading.local()


@dataclass(frozen=True)
class Change:
    """What another server wrote: `users` whose events changed (None: every list may be
    stale), and whether a newer trained model was stored."""

    users: frozenset[str] | None
    model: bool = False


@contextmanager
def writing_for(users: Collection[str] | None = None, *, model: bool = False) -> Iterator[None]:
    """Mark the writes made inside, in this thread, as these users' (None: anything), or as
    a new trained model (`model`)."""
    before = getattr(_local, "writing", None)
    _local.writing = (frozenset(users) if users is not None else None, model)
    try:
        yield
    finally:
        _local.writing = before


def writing() -> tuple[frozenset[str] | None, bool] | None:
    """What `writing_for` says of the write under way in this thread (None: nothing)."""
    found: tuple[frozenset[str] | None, bool] | None = getattr(_local, "writing", None)
    return found
