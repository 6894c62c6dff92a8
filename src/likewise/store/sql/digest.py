"""A digest's reads, written once for both SQL stores: a page of users' profiles, seen items
and earlier digests' items in one read transaction (see `store.digest`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from likewise.store.base import Hit, Vector
from likewise.store.digest import DIGEST, DigestUser
from likewise.store.sql import activity
from likewise.store.sql.query import Sql

__all__ = ["SqlDigest", "seen_many", "sent_many", "users_page"]


def users_page(db: Sql, after: str, limit: int) -> list[str]:
    """The ids of up to `limit` users with a `text` profile past `after`, in id order."""
    rows = db.execute(
        "SELECT user_id FROM profiles WHERE space = {p} AND user_id > {p} "
        "ORDER BY user_id LIMIT {p}",
        ("text", after, limit),
    )
    return [r[0] for r in rows]


def seen_many(db: Sql, user_ids: Sequence[str]) -> dict[str, list[str]]:
    """Every item each user has an event with."""
    out: dict[str, list[str]] = {}
    for user, item in db.rows_in(
        "SELECT DISTINCT user_id, item_id FROM events WHERE user_id", user_ids
    ):
        out.setdefault(user, []).append(item)
    return out


def sent_many(db: Sql, user_ids: Sequence[str]) -> dict[str, set[str]]:
    """Every item in each user's impressions of strategy `digest` (any digest's name)."""
    out: dict[str, set[str]] = {}
    query = "SELECT user_id, items FROM impressions WHERE strategy = {p} AND user_id"
    for user, items in db.rows_in(query, user_ids, before=[DIGEST]):
        out.setdefault(user, set()).update(json.loads(items))
    return out


class SqlDigest:
    """The `DigestReads` half of the Store contract over a backend's `_reading()`; its
    `search_many` runs one `search` per vector (the embedded store batches it)."""

    def _reading(self) -> AbstractContextManager[Sql]:
        raise NotImplementedError

    def search(
        self,
        vector: Vector,
        *,
        n: int,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        space: str = "text",
    ) -> list[Hit]:
        raise NotImplementedError

    def digest_users(self, *, after: str = "", limit: int) -> list[str]:
        with self._reading() as db:
            return users_page(db, after, limit)

    def digest_user_count(self) -> int:
        with self._reading() as db:
            row = db.execute(
                "SELECT COUNT(*) FROM profiles WHERE space = {p}", ("text",)
            ).fetchone()
            return int(row[0])

    def digest_reads(
        self, user_ids: Sequence[str], *, space: str = "text", sent: bool = True
    ) -> dict[str, DigestUser]:
        ids = list(dict.fromkeys(user_ids))
        with self._reading() as db:
            states = activity.load_profiles(db, ids, space)
            seen = seen_many(db, ids)
            shown = sent_many(db, ids) if sent else {}
        return {u: DigestUser(states.get(u), seen.get(u, []), shown.get(u, set())) for u in ids}

    def search_many(
        self,
        vectors: Sequence[Vector],
        *,
        n: int,
        where: Mapping[str, Any] | None = None,
        excludes: Sequence[Sequence[str]] = (),
        space: str = "text",
    ) -> list[list[tuple[str, float]]]:
        skips = list(excludes) or [()] * len(vectors)
        return [
            [(h.id, h.score) for h in self.search(v, n=n, where=where, exclude=ex, space=space)]
            for v, ex in zip(vectors, skips, strict=True)
        ]
