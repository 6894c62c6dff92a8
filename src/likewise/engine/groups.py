"""The Engine's lists for a group of users (a household, friends watching together)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from likewise.config import Settings
from likewise.engine.checks import MAX_N, check_n
from likewise.engine.tracking import Tracker
from likewise.errors import Conflict, InvalidInput, NotFound
from likewise.events.model import check_user_id
from likewise.profiles.strategies import Vector
from likewise.recommend import POOL, Recommendation, Recommended
from likewise.recommend.group import (
    MAX_MEMBERS,
    check_group_strategy,
    member_scores,
    rank_group,
    reason,
)
from likewise.recommend.spaces import query_of, taste
from likewise.retrieval.models import BEHAVIOUR
from likewise.store import TEXT, Store

__all__ = ["Groups", "check_members"]


class Groups:
    """Mixed into the Engine, which owns the store, the settings and the tracker."""

    store: Store
    settings: Settings
    tracker: Tracker

    def recommend_group(
        self,
        users: Sequence[str],
        n: int = 10,
        *,
        strategy: str = "average",
        where: Mapping[str, Any] | None = None,
        space: str = TEXT,
        track: bool = True,
    ) -> Recommendation:
        """Items for a group of 2 to 16 users watching together, none of which any member
        has an event with.

        Candidates are the items nearest each member's interest vector and nearest the
        group's mean (one search each, in `space`, passing `where`); each is scored for each
        member as the space's search scores (the cosine to their interest vector; the inner
        product in `behaviour`, after :meth:`train`), and `strategy` aggregates
        (`recommend.group`): `average` (the mean score), `least_misery` (the lowest member
        score) or `fair` (each next item is the best remaining one of the member served
        least so far). Each item's `members` (`for` in JSON) are the members whose score
        for it is above the group's median (those tied at the top when none is), and its
        reason names them.

        A member with no events is NotFound naming `users[k]`; one with events but no
        interest vector in `space` (no positive event yet, or none on an item with a vector
        there) is a Conflict naming `users[k]`. With `track`, the list is logged as an
        impression of strategy `group:STRATEGY` under the first member, so clicks sent back
        with its id count in :meth:`ctr_report`.
        """
        started = time.perf_counter()
        check_n(n)
        members = check_members(users)
        strategy = check_group_strategy(strategy)
        spaces = self.store.spaces()
        if not isinstance(space, str) or space not in spaces:
            known = ", ".join(spaces)
            raise InvalidInput(f"unknown space {space!r}; known: {known}", field="space")
        mark = self.store.forget_mark() if track else None  # before any member is read
        queries, seen = self._tastes(members, space)
        group = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).mean(axis=0)
        pool: dict[str, None] = {}
        # The group's mean too, unless the members' directions cancel out.
        for query in [*queries, group] if np.linalg.norm(group) > 1e-6 else queries:
            hits = self.store.search(
                query, n=min(MAX_N, n * POOL), where=where, exclude=seen, space=space
            )
            pool.update(dict.fromkeys(h.id for h in hits))
        stored = self.store.vectors(list(pool), space=space)
        ids = [i for i in pool if i in stored]
        items: list[Recommended] = []
        if ids:
            vectors = np.stack([stored[i] for i in ids])
            scores = member_scores(queries, vectors, spaces[space].metric)
            for pick in rank_group(scores, n, strategy):
                names = tuple(members[k] for k in pick.members)
                items.append(Recommended(ids[pick.index], pick.score, reason(names), None, names))
        name = f"group:{strategy}"
        rec = Recommendation("", name, items, users=tuple(members))
        if track:
            ms = (time.perf_counter() - started) * 1000.0
            self.tracker.log(rec.id, members[0], name, [r.id for r in items], None, ms, mark)
        return rec

    def _tastes(self, members: Sequence[str], space: str) -> tuple[np.ndarray[Any, Any], list[str]]:
        """Each member's query vector in `space` (rows, in the members' order) and every item
        any member has an event with."""
        rows: list[Vector] = []
        seen: dict[str, None] = {}
        for k, user in enumerate(members):
            state, items, _ = self.store.user(user, space=TEXT)
            if state is None and not items:
                raise NotFound("user", user, field=f"users[{k}]")
            seen.update(dict.fromkeys(items))
            if space == TEXT:
                vector = None if state is None else state.interest
            elif space == BEHAVIOUR:
                profile = self.store.profile(user, space=BEHAVIOUR)
                vector = None if profile is None else profile.interest
            else:
                vector = taste(self.store, user, space, "dislike", self.settings.profiles)
            query = None if vector is None else query_of(space, vector)
            if query is None or not np.any(query) or not np.all(np.isfinite(query)):
                why = f"user {user!r} has no interest vector in {space!r} yet (no positive event)"
                raise Conflict(why, field=f"users[{k}]")
            rows.append(query)
        return np.stack(rows).astype(np.float32), list(seen)


def check_members(users: object) -> list[str]:
    """A group's user ids: a list of 2 to `MAX_MEMBERS` distinct valid ids, or InvalidInput
    naming `users` (or `users[k]`, the id at fault)."""
    if isinstance(users, str) or not isinstance(users, Sequence):
        raise InvalidInput("must be a list of user ids", field="users")
    if not 2 <= len(users) <= MAX_MEMBERS:
        raise InvalidInput(f"must name 2 to {MAX_MEMBERS} users, not {len(users)}", field="users")
    members: list[str] = []
    for k, user in enumerate(users):
        try:
            members.append(check_user_id(user))
        except InvalidInput as exc:
            raise InvalidInput(exc.reason, field=f"users[{k}]") from None
        if user in members[:-1]:
            raise InvalidInput(f"{user!r} is named twice", field=f"users[{k}]")
    return members
