"""The Store contract every backend implements (embedded now, PostgreSQL later)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from likewise.errors import ConfigError
from likewise.events.model import Event
from likewise.items.model import Item
from likewise.profiles.state import ProfileState, Snapshot
from likewise.store.digest import DigestReads
from likewise.store.feed import FeedStore
from likewise.store.retention import Returning
from likewise.store.segments import SegmentStore
from likewise.store.shadow import Shadowing
from likewise.tracking.impressions import Impression
from likewise.tracking.report import Activity, RateRow

__all__ = [
    "METRICS",
    "Entry",
    "Fetched",
    "Hit",
    "Metric",
    "Nearest",
    "ProfileUpdate",
    "ProfileUpdates",
    "Space",
    "Store",
    "StoreInfo",
    "metric_of",
]

Metric = Literal["cosine", "dot", "euclidean"]
METRICS: tuple[Metric, ...] = ("cosine", "dot", "euclidean")
Vector = npt.NDArray[np.float32]
# Called inside the write transaction with a user's stored profile (or a fresh one) and their
# newly accepted events with signals, in order; returns the new profile and snapshots taken.
ProfileUpdate = Callable[
    [ProfileState, Sequence[tuple[Event, float]]], tuple[ProfileState, list[Snapshot]]
]


@dataclass(frozen=True)
class ProfileUpdates:
    """A `ProfileUpdate` for every user of one space in one call (`many`, given each stored
    or fresh profile with its events, returns their new profiles and snapshots in order), so
    the math can run over all of them at once. `record` takes it where it takes an update.
    The profiles handed to `many` are made for that call: it may change them in place."""

    many: Callable[
        [Sequence[tuple[ProfileState, Sequence[tuple[Event, float]]]]],
        list[tuple[ProfileState, list[Snapshot]]],
    ]


TEXT = "text"  # the space of the vectors the store's embedder makes from item content


@dataclass(frozen=True)
class StoreInfo:
    """What a store was built with: vectors from another model cannot be mixed in. This is
    the `text` space (the embedder's) and the content template it embeds."""

    model_id: str
    dim: int
    metric: Metric = "cosine"
    template: str = "title,body,tags"

    @property
    def text(self) -> Space:
        return Space(TEXT, self.dim, self.metric)


@dataclass(frozen=True)
class Space:
    """A named vector space: items may have one vector in it, of `dim` numbers, compared by
    `metric`, searched through its own index. `text` holds the embedder's vectors; other
    spaces hold vectors learned from behaviour, from images, or brought by the team."""

    name: str
    dim: int
    metric: Metric = "cosine"


@dataclass(frozen=True)
class Entry:
    """One item to write. `vector=None` keeps the vector the item already has."""

    item: Item
    content_hash: str
    vector: Vector | None


@dataclass(frozen=True)
class Hit:
    """A search result: higher `score` is closer (cosine or dot; minus the L2 distance)."""

    id: str
    score: float

    def as_dict(self) -> dict[str, Any]:
        """`{"id", "score"}`: a hit's shape in HTTP, the CLI's `--json` and clients."""
        return {"id": self.id, "score": self.score}


class Fetched(NamedTuple):
    """What ranking needs of one candidate, read in one call: its vector (None if it has
    none in the space asked), its title, and, when asked for, the fields `where` filters see
    (None when not asked for; read-only: a store may share them between calls). A tuple: a
    list fetches a hundred of them."""

    id: str
    vector: Vector | None
    fields: dict[str, Any] | None
    title: str


class Nearest(NamedTuple):
    """A search and a fetch in one read (`Store.nearest`): the hits, closest first, and the
    vector and title (no fields) of each hit and of each item asked for `also`."""

    hits: list[Hit]
    found: dict[str, Fetched]


class Store(Shadowing, DigestReads, FeedStore, SegmentStore, Returning, Protocol):
    """Items, their vectors in named spaces, filtered vector search, the shadow a reembed
    fills (`shadow.py`), the feed's queue (`feed.py`), the activity (events, profiles per
    user and space, impressions) recorded about them, and users' properties and segments
    (`segments.py`)."""

    @property
    def info(self) -> StoreInfo | None:
        """None until the store is initialised with :meth:`initialize`."""

    def initialize(self, info: StoreInfo) -> None:
        """Record the model, dimension and metric of a new, empty store."""

    def spaces(self) -> dict[str, Space]:
        """Every vector space, `text` first."""

    def add_space(self, space: Space) -> None:
        """Create a space (a no-op if it exists alike; ConfigError if it differs)."""

    def put_vectors(self, space: str, vectors: Mapping[str, Vector]) -> None:
        """Set stored items' vectors in a space other than `text`, in one durable
        transaction (InvalidInput, nothing written, if an item is unknown or a vector bad)."""

    def drop_vectors(self, space: str, ids: Sequence[str]) -> None:
        """Remove the items' vectors in a space other than `text` (an image taken away), in
        one durable transaction; an item without one is no error."""

    def upsert(self, entries: Sequence[Entry]) -> None:
        """Write items and their `text` vectors in one durable transaction."""

    def delete(self, ids: Sequence[str]) -> int:
        """Remove items; returns how many existed."""

    def get(self, ids: Sequence[str]) -> list[Item]:
        """The stored items among `ids`, in the order asked (missing ones left out)."""

    def titles(self, ids: Sequence[str]) -> dict[str, str]:
        """The titles of the stored items among `ids` (for reasons and listings)."""

    def hashes(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """(content hash, record hash) of the stored items among `ids`."""

    def item_ids(self, *, after: str = "", limit: int) -> list[str]:
        """Up to `limit` item ids after `after`, in Python's string order (a page)."""

    def all_ids(self) -> list[str]:
        """Every stored item id."""

    def iter_items(self, batch: int = 1000) -> Iterator[list[Item]]:
        """Every stored item, in batches."""

    def vector(self, id: str, *, space: str = TEXT) -> Vector:
        """The stored vector of one item in `space` (NotFound if it has none)."""

    def search(
        self,
        vector: Vector,
        *,
        n: int,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        space: str = TEXT,
    ) -> list[Hit]:
        """The `n` nearest live items in `space` passing `where`, minus `exclude`, closest
        first."""

    def vectors(self, ids: Sequence[str], *, space: str = TEXT) -> dict[str, Vector]:
        """The stored vectors in `space` among `ids` (missing ones left out)."""

    def matching(self, ids: Sequence[str], where: Mapping[str, Any] | None) -> list[str]:
        """The live items among `ids` that pass `where`, in the order given."""

    def fetch(
        self, ids: Sequence[str], *, space: str = TEXT, details: Collection[str] | None = None
    ) -> dict[str, Fetched]:
        """The live items among `ids`, in one read: each one's vector in `space` and title,
        and the filterable fields of those in `details` (None: of all)."""

    def nearest(
        self,
        vector: Vector,
        *,
        n: int,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        also: Sequence[str] = (),
        space: str = TEXT,
    ) -> Nearest:
        """`search`, and `fetch` (no fields) of the hits and of `also`, in one read: a
        profile list's whole read of the catalog (`also`: the liked items its reasons name)."""

    def put_blob(self, name: str, data: bytes) -> None:
        """Store a named blob durably (a trained model), replacing any older one."""

    def put_blobs(self, blobs: Mapping[str, bytes]) -> None:
        """Store named blobs durably in one transaction: all of them or none (a model's
        bundle: a crash never leaves half of a new one beside the old)."""

    def get_blob(self, name: str) -> bytes | None:
        """A named blob, or None."""

    def update_blob(self, name: str, change: Callable[[bytes | None], bytes]) -> bytes:
        """Write blob `name` as `change` makes it from its data now (None: there is none),
        read and written in one exclusive transaction, so two processes changing it at once
        never lose one another's change; returns what was written. An error `change` raises
        writes nothing."""

    def count(self, where: Mapping[str, Any] | None = None) -> int:
        """How many items pass `where`."""

    def replace_all(self, info: StoreInfo, entries: Sequence[Entry]) -> None:
        """Swap every vector (a new model): one transaction, then a fresh index."""

    def popular(
        self,
        *,
        n: int,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        trending: bool = False,
        newest: bool = False,
    ) -> list[Hit]:
        """The `n` live items with the highest summed positive signal passing `where`, minus
        `exclude`; when too few items have events, the newest others follow with score 0.
        `trending` weighs each event by its age instead (halved every 7 days); `newest`
        gives the newest written alone (score 0)."""

    # -- events and profiles ----------------------------------------------------------------

    def record(
        self,
        events: Sequence[Event],
        signals: Sequence[float],
        update: ProfileUpdate | ProfileUpdates,
        *,
        spaces: Sequence[str] = (TEXT,),
    ) -> list[bool]:
        """Append events and update their users' profiles in each of `spaces` (`update` is
        called once per user and space, a `ProfileUpdates` once per space) in one durable
        transaction.

        An event whose `event_id` is already stored is skipped (False in the result).
        """

    def profile(self, user_id: str, *, space: str = TEXT) -> ProfileState | None:
        """The user's stored profile in `space`, None if they have none."""

    def user(
        self, user_id: str, *, space: str = TEXT
    ) -> tuple[ProfileState | None, list[str], int]:
        """The user's profile in `space`, every item they have an event with, and the forget
        mark (`forget_mark`) as of that read: one read, so a list's mark and user agree."""

    def put_profiles(
        self, profiles: Sequence[tuple[ProfileState, Sequence[Snapshot]]], *, replace: bool
    ) -> None:
        """Write profiles (each in its `space`) and append their snapshots, in one
        transaction; with `replace` the snapshots these profiles had are dropped first."""

    def snapshots(self, user_id: str, limit: int, *, space: str = TEXT) -> list[Snapshot]:
        """The user's latest `limit` snapshots in `space`, oldest first."""

    def seen(self, user_id: str) -> list[str]:
        """Every item the user has an event with."""

    def events(self, batch: int = 10_000) -> Iterator[list[tuple[Event, float]]]:
        """The whole event log with each event's signal, in the order it was appended."""

    def forget_user(self, user_id: str, *, keep_impressions: bool = False) -> dict[str, int]:
        """Delete the user's events, profiles, snapshots and (unless `keep_impressions`)
        impressions; returns the rows deleted per table. Forgetting (not `keep_impressions`)
        also raises the forget mark and leaves a tombstone (a digest of the id, for an
        hour): an impression of the user begun at an earlier mark is not stored, whichever
        process logs it and whenever."""

    def forget_mark(self) -> int:
        """How many forgets the store has seen: read it when a list is begun, give it to the
        list's impression (`Impression.mark`) and to the cache of hot results."""

    def user_events(
        self, user_id: str, *, limit: int, before: int | None = None
    ) -> list[tuple[int, Event]]:
        """The user's last `limit` events (before sequence number `before`), newest first,
        each with its sequence number."""

    # -- tracking ---------------------------------------------------------------------------

    def log_impressions(self, impressions: Sequence[Impression]) -> None:
        """Store shown lists (a resent id is ignored)."""

    def shown(self, user_id: str, last: int = 50) -> dict[str, int]:
        """How often each item appeared in the user's `last` logged impressions."""

    def rate_rows(
        self, group_by: str, since: float, clicks: Sequence[str], conversions: Sequence[str]
    ) -> list[RateRow]:
        """Impressions since `since` grouped by `strategy` or `day`, with how many were
        clicked and converted (events of those types carrying their id) and mean dwell."""

    def activity(self, since: float) -> Activity:
        """Events per day and type, list latencies per strategy, distinct items shown."""

    # -- moving a whole store (likewise copy) ------------------------------------------------

    def export_rows(self, table: str, batch: int = 5_000) -> Iterator[list[tuple[Any, ...]]]:
        """Every row of an activity table (`activity.TABLES`), a page at a time, in order."""

    def import_rows(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Append rows exported from another store's same table, in one transaction."""

    def stats(self) -> dict[str, Any]:
        """Counts and sizes, for `likewise stats`."""

    def close(self) -> None:
        """Persist what is cheap to reload and release files."""


def metric_of(name: str) -> Metric:
    """Validate a metric name."""
    for metric in METRICS:
        if name == metric:
            return metric
    raise ConfigError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
