"""What a write told to the other servers (or processes) on one store changed, as the result
caches key it: some users' events, a new trained model, or anything else."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Change"]


@dataclass(frozen=True)
class Change:
    """What another server wrote: `users` whose events changed (None: every list may be
    stale), and whether a newer trained model was stored."""

    users: frozenset[str] | None
    model: bool = False
