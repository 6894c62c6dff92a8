"""The Engine's reads and deletes of one user's history, and lists for no stored user."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from likewise.engine.checks import check_n, check_score, check_vector
from likewise.engine.pages import EventPage, check_limit
from likewise.engine.tracking import Tracker
from likewise.errors import InvalidInput, NotFound
from likewise.events.model import check_user_id
from likewise.items.model import check_json
from likewise.personal import Personaliser
from likewise.recommend import Recommendation
from likewise.recommend.session import MAX_EXAMPLES, SESSION_STRATEGIES, Examples
from likewise.store import TEXT, Space, Store

__all__ = ["Example", "Sessions"]

Example = str | Sequence[float]  # an item id, or a vector (of the text space by default)


class Sessions:
    """Mixed into the Engine, which owns the store, the personaliser and the tracker."""

    store: Store
    personal: Personaliser
    tracker: Tracker

    def user_events(
        self, user_id: str, *, limit: int = 100, cursor: str | None = None
    ) -> EventPage:
        """A user's events, newest first, as recorded: up to `limit`, older than `cursor`
        (the `next_cursor` of the page before)."""
        check_user_id(user_id)
        check_limit(limit)
        before = None
        if cursor is not None:
            ok = isinstance(cursor, str) and cursor.isascii() and cursor.isdigit()
            if not ok or len(cursor) > 18:
                raise InvalidInput("must be the next_cursor of a page", field="cursor")
            before = int(cursor)
        rows = self.store.user_events(user_id, limit=limit, before=before)
        more = len(rows) == limit and rows[-1][0] > 1
        return EventPage([e for _, e in rows], str(rows[-1][0]) if more else None)

    def delete_user_events(self, user_id: str) -> dict[str, int]:
        """Delete a user's events and the profiles, snapshots and share of popularity made
        from them; the lists they were shown stay in the reports (unlike :meth:`forget_user`).
        The trained models forget them at the next :meth:`train`. Rows deleted per table."""
        check_user_id(user_id)
        deleted = self.store.forget_user(user_id, keep_impressions=True)
        self.personal.cache.touch_all()  # their events were in everyone's popular lists
        return deleted

    def recommend_from(
        self,
        positive: Sequence[Example] = (),
        negative: Sequence[Example] = (),
        *,
        n: int = 10,
        strategy: str = "average_vector",
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        min_score: float | None = None,
        user_id: str | None = None,
        context: Mapping[str, Any] | None = None,
        vector: Sequence[float] | np.ndarray[Any, Any] | None = None,
        space: str = TEXT,
    ) -> Recommendation:
        """Items for no stored user, from what a session gave: item ids or vectors to move
        towards (`positive`) and away from (`negative`). `strategy`: `average_vector`
        (near the positives' mean minus `beta` times the negatives'), `best_score` (each
        candidate by its nearest positive, sunk when a negative is nearer) or `hybrid` (the
        trained blend, with the positive ids as the history). The given ids are left out.

        The context rules that apply to `context` filter and boost the list as they do a
        user's. With `user_id` (e.g. a session id), the list is logged as an impression under
        the strategy (with `context`), and its id attributes later events as
        :meth:`recommend`'s does.

        Ids and vectors are of the vector `space` (`text` by default; `image`, `behaviour`,
        or your own), searched there (`hybrid` only in `text`: InvalidInput naming `space`).
        `vector` is a query vector of that space of your own, a first positive (checked as
        :meth:`search_vector` checks one, naming `vector`); then `positive` may be empty.
        """
        started = time.perf_counter()
        check_n(n)
        check_score(min_score)
        if strategy not in SESSION_STRATEGIES:
            known = ", ".join(SESSION_STRATEGIES)
            raise InvalidInput(f"unknown {strategy!r}; known: {known}", field="strategy")
        if user_id is not None:
            check_user_id(user_id)
        check_json(context, "context")
        spaces = self.store.spaces()
        if not isinstance(space, str) or space not in spaces:
            names = ", ".join(spaces)
            raise InvalidInput(f"unknown space {space!r}; known: {names}", field="space")
        if strategy == "hybrid" and space != TEXT:
            raise InvalidInput("hybrid ranks in text; use average_vector", field="space")
        mark = None if user_id is None else self.store.forget_mark()
        first = [] if vector is None else [check_vector(vector, spaces[space], "vector")]
        examples = self._examples(positive, negative, spaces[space], first)
        rec = self.personal.ranker.from_examples(
            examples,
            n=n,
            strategy=strategy,
            where=where,
            exclude=exclude,
            user_id=user_id or "",
            context=self._session_context(context, user_id),
            space=space,
        )
        if min_score is not None:
            kept = [r for r in rec.items if r.score >= min_score]
            rec = Recommendation(rec.user_id, rec.strategy, kept, rec.id)
        if user_id is not None:
            ms = (time.perf_counter() - started) * 1000.0
            items = [r.id for r in rec.items]
            self.tracker.log(rec.id, user_id, strategy, items, context, ms, mark)
        return rec

    def _session_context(
        self, context: Mapping[str, Any] | None, user_id: str | None
    ) -> Mapping[str, Any] | None:
        """The context the rules see for a session's list (`Segments` puts in the segments
        of `user_id`, if it is a stored user with properties)."""
        return context

    def _examples(
        self,
        positive: Sequence[Example],
        negative: Sequence[Example],
        space: Space,
        first: list[Any],
    ) -> Examples:
        """The vectors in `space` of the ids and the checked vectors given, after `first`
        (the checked `vector`), each error naming its place (`positive[2]`)."""
        given: dict[str, list[Any]] = {"positive": [], "negative": []}
        for field, entries in (("positive", positive), ("negative", negative)):
            if isinstance(entries, str) or not isinstance(entries, Sequence):
                raise InvalidInput("must be a list of item ids or vectors", field=field)
            given[field] = list(entries)
        if not given["positive"] and not first:
            raise InvalidInput("give at least one item id or vector", field="positive")
        if len(first) + len(given["positive"]) + len(given["negative"]) > MAX_EXAMPLES:
            raise InvalidInput(f"at most {MAX_EXAMPLES} in all", field="positive")
        ids = [e for entries in given.values() for e in entries if isinstance(e, str)]
        stored = self.store.vectors(ids, space=space.name)
        vectors: dict[str, list[Any]] = {"positive": first, "negative": []}
        for field, entries in given.items():
            for k, entry in enumerate(entries):
                place = f"{field}[{k}]"
                if isinstance(entry, str):
                    if entry not in stored:
                        if space.name != TEXT and self.store.get([entry]):
                            raise InvalidInput(f"has no vector in {space.name!r}", field=place)
                        raise NotFound("item", entry, field=place)
                    vectors[field].append(stored[entry])
                else:
                    vectors[field].append(_vector(entry, space, place))
        liked = [e for e in given["positive"] if isinstance(e, str)]
        return Examples(vectors["positive"], vectors["negative"], liked, ids)


F32_MAX = float(np.finfo(np.float32).max)


def _vector(entry: object, space: Space, place: str) -> np.ndarray[Any, Any]:
    """A given vector (a list of numbers or a 1-d numpy array): `space`'s dimension of finite
    numbers, not all zero."""
    dim = space.dim
    if isinstance(entry, np.ndarray) and entry.ndim == 1 and entry.dtype.kind in "fiu":
        entry = entry.tolist()
    if not isinstance(entry, Sequence) or isinstance(entry, str):
        raise InvalidInput("must be an item id or a list of numbers", field=place)
    if len(entry) != dim:
        raise InvalidInput(
            f"must have {dim} numbers (the {space.name} space's), not {len(entry)}", field=place
        )
    numbers = [x for x in entry if isinstance(x, int | float) and not isinstance(x, bool)]
    # Compared, not converted: a JSON integer may be too large for a float (OverflowError).
    if len(numbers) != dim or not all(-F32_MAX <= x <= F32_MAX for x in numbers):
        raise InvalidInput("must be finite numbers", field=place)
    vector = np.asarray(numbers, dtype=np.float32)
    if not np.any(vector):
        raise InvalidInput("must not be all zeros", field=place)
    return vector
