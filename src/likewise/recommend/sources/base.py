"""The one protocol every candidate source keeps, and what it is asked and answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from likewise.profiles.strategies import Vector
from likewise.store.base import Fetched

__all__ = ["Candidates", "Query", "Source", "Sources"]


@dataclass(frozen=True)
class Query:
    """What a source is asked: `n` candidates for one user, passing `where`, minus `exclude`.

    `recent` is the user's positive items, oldest first; `vector` their interest vector
    (None for a user with nothing to go on); `taste` their interest vector in the learned
    `behaviour` space (None before a model is trained). `also`, when given, asks a source
    that can for what `Store.fetch` gives (vectors and titles) of its candidates and of these
    items, read with them (a profile list's one read: its reasons name the liked `also`).
    """

    user_id: str
    n: int
    vector: Vector | None = None
    recent: Sequence[str] = ()
    where: Mapping[str, Any] | None = None
    exclude: Sequence[str] = ()
    taste: Vector | None = None
    also: Sequence[str] | None = None


@dataclass(frozen=True)
class Candidates:
    """What a source offers: a score per item id, best first (or in the order drawn).

    `keep` is None when the store applied `where` already (a search, a popularity ranking).
    A source that cannot filter (the collaborative model knows no metadata) offers more and
    sets `keep`: the ranker checks `where` on the fields it fetched for every candidate and
    keeps the first `keep` stored items that pass. `found`: what the source read of its
    candidates and of `Query.also` (vectors and titles, no fields) when asked and able to;
    None: the ranker reads them itself.
    """

    scores: dict[str, float]
    keep: int | None = None
    found: Mapping[str, Fetched] | None = None


class Source(Protocol):
    """A candidate source: a query in, candidates out (at most one store call)."""

    def __call__(self, query: Query) -> Candidates: ...


@dataclass(frozen=True)
class Sources:
    """The sources a ranker asks.

    `blend`: what `hybrid` blends, by the name its weight has, in the order scores are summed
    and reasons chosen; its `content` source alone serves the profile strategies. `popular`
    serves users with nothing to go on; `explore` fills the exploration slots.
    """

    blend: Mapping[str, Source]
    popular: Source
    explore: Source

    def __post_init__(self) -> None:
        if "content" not in self.blend:
            raise ValueError("the blend needs a 'content' source (the profile strategies')")

    @property
    def content(self) -> Source:
        return self.blend["content"]
