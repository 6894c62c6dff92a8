"""What the feed's calls return, in every face: the Engine's, and the Client's from JSON
(a module of its own, so the client imports the types and nothing of the engine)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["FeedPush", "FeedStatus", "FeedStep"]


@dataclass
class FeedPush:
    """What a push queued: upserts and deletions (a change already waiting is not queued
    again, so `queued` may be less than their sum)."""

    upserts: int = 0
    deletions: int = 0
    queued: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class FeedStep:
    """What one step of the worker did with the changes it took."""

    taken: int = 0
    upserted: int = 0
    deleted: int = 0
    failed: int = 0
    embedded: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class FeedStatus:
    """The queue: changes waiting, applied and failed; `lag` is the age in seconds of the
    oldest waiting one (0 when none waits); the latest failures, each naming its source
    (`file:line`, `url[k]`, `api[k]`) and field."""

    pending: int = 0
    done: int = 0
    failed: int = 0
    lag: float = 0.0
    failures: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
