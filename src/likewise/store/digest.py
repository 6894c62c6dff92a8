"""The part of the Store contract a digest (a newsletter's lists) reads through: users a page
at a time, what each was shown and sent, and many vector searches in one call.

A digest makes lists for thousands of users a second, so it asks the store once per page of
users rather than once per user. What was sent in earlier digests is read from the
impressions of strategy `digest`: no table of its own, so a forget (which deletes a user's
impressions) and `likewise copy` (which carries them) need nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from likewise.profiles.state import ProfileState

__all__ = ["DIGEST", "DigestReads", "DigestUser"]

DIGEST = "digest"  # the strategy a digest's impressions are logged under

Vector = npt.NDArray[np.float32]


class DigestUser(NamedTuple):
    """One user as a digest reads them: the profile in the space asked (None: none yet),
    every item they have an event with, and every item sent to them in an earlier digest."""

    state: ProfileState | None
    seen: list[str]
    sent: set[str]


class DigestReads(Protocol):
    """Batched reads for a digest; every backend has them (`store.sql.digest`)."""

    def digest_users(self, *, after: str = "", limit: int) -> list[str]:
        """Up to `limit` users with a `text` profile (every user with an event has one),
        past `after` in id order: all users, a page at a time."""
        ...

    def digest_user_count(self) -> int:
        """How many users `digest_users` pages through."""
        ...

    def digest_reads(
        self, user_ids: Sequence[str], *, space: str = "text", sent: bool = True
    ) -> dict[str, DigestUser]:
        """Each of `user_ids` (those unknown too, with no profile) read in one read
        transaction; `sent` False leaves `DigestUser.sent` empty without reading it."""
        ...

    def search_many(
        self,
        vectors: Sequence[Vector],
        *,
        n: int,
        where: Mapping[str, Any] | None = None,
        excludes: Sequence[Sequence[str]] = (),
        space: str = "text",
    ) -> list[list[tuple[str, float]]]:
        """`search` for each vector, leaving out its own `excludes[k]`: the (id, score)
        pairs, best first. The embedded store searches the whole matrix in one faiss call;
        the others run one search per vector."""
        ...
