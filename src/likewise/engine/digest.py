"""Newsletters: `n` items for every user (or a list of them), a page of users at a time,
each list logged as an impression of strategy `digest` (the Engine's `digest`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from likewise.config import Settings
from likewise.engine.checks import check_n
from likewise.engine.tracking import Tracker
from likewise.errors import InvalidInput
from likewise.events.model import check_user_id
from likewise.filters import parse_where
from likewise.recommend import Recommendation, check_strategy
from likewise.recommend.digest import BATCHED, page_lists
from likewise.store import Store
from likewise.store.digest import DIGEST
from likewise.tracking import Impression
from likewise.tracking.experiments import check_name

__all__ = ["DIGEST", "DIGEST_PAGE", "Digests"]

DIGEST_PAGE = 256  # users read, searched and logged together
Progress = Callable[[int], object]


class Digests:
    """The newsletter half of the Engine (mixed in; the Engine owns `store`, `settings` and
    `tracker`, and its `recommend` serves the lists a page cannot batch)."""

    store: Store
    settings: Settings
    tracker: Tracker

    def recommend(
        self,
        user_id: str,
        *,
        n: int = 10,
        strategy: str | None = None,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        track: bool = True,
    ) -> Recommendation:
        raise NotImplementedError

    def digest(
        self,
        name: str,
        n: int = 10,
        *,
        users: Iterable[str] | None = None,
        where: Mapping[str, Any] | None = None,
        exclude_sent: bool = True,
        strategy: str | None = None,
        progress: Progress | None = None,
        page: int = DIGEST_PAGE,
    ) -> Iterator[tuple[str, Recommendation]]:
        """A newsletter's lists: `(user_id, Recommendation)` for every user with a profile
        (in id order), or for each of `users` (any iterable: a list, a file's lines, a
        segment), skipping users whose list is empty. The arguments are checked here, before
        the first list is made (InvalidInput naming `name`, `n`, `where` or `strategy`).

        Each list is what :meth:`recommend` gives the user under `strategy` (default: the
        `strategy` setting; experiments do not choose a digest's), without the items they
        have seen and, with `exclude_sent`, the items any earlier digest (of any name) sent
        them. `where` filters items as everywhere, e.g. the last week's:
        `{"published_at": {"gte": "2026-11-23"}}` (a date the caller computes).

        Each list is logged as an impression of strategy `digest` under its
        `Recommendation.id` (context `{"digest": name}`) before it is yielded: put that id in
        the newsletter's links and send it back as `recommendation_id` with the click, and
        :meth:`ctr_report` counts it. The profile strategies are batched (see
        `recommend.digest`); `hybrid`, `popular`, and any list shaped by context rules,
        exploration or `rest_after`, are made by one `recommend` per user (slower).
        `progress` is called with the number of users done after each page.
        """
        check_name(name, "name")
        check_n(n)
        parse_where(where)
        chosen = check_strategy(self.settings.ranking.strategy if strategy is None else strategy)
        if isinstance(users, str | bytes):
            raise InvalidInput("must be a list of user ids, not one string", field="users")
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise InvalidInput("must be an integer of at least 1", field="page")
        pages = self._all_users(page) if users is None else _pages(users, page)
        return self._digest(name, n, pages, where, exclude_sent, chosen, progress)

    def _digest(
        self,
        name: str,
        n: int,
        pages: Iterator[list[str]],
        where: Mapping[str, Any] | None,
        exclude_sent: bool,
        strategy: str,
        progress: Progress | None,
    ) -> Iterator[tuple[str, Recommendation]]:
        ranking = self.settings.ranking
        shaped = ranking.context_rules or ranking.exploration or ranking.rest_after
        batched = strategy in BATCHED and not shaped
        context = {"digest": name}
        for ids in pages:
            mark = self.store.forget_mark()  # before the users are read: see forget_user
            reads = self.store.digest_reads(ids, sent=exclude_sent)
            lists = (
                page_lists(
                    self.store, self.settings.profiles, reads, n=n, strategy=strategy, where=where
                )
                if batched
                else {}
            )
            rows = []
            for user in ids:
                if user in lists:
                    rec = Recommendation(user, strategy, lists[user])
                else:
                    sent = sorted(reads[user].sent)
                    rec = self.recommend(
                        user, n=n, strategy=strategy, where=where, exclude=sent, track=False
                    )
                if rec.items:
                    rows.append((user, rec))
            now = time.time()
            self.store.log_impressions(
                [
                    Impression(
                        rec.id, u, DIGEST, [r.id for r in rec.items], context, now, None, mark
                    )
                    for u, rec in rows
                ]
            )
            yield from rows
            if progress is not None:
                progress(len(ids))

    def _all_users(self, page: int) -> Iterator[list[str]]:
        after = ""
        while ids := self.store.digest_users(after=after, limit=page):
            yield ids
            after = ids[-1]


def _pages(users: Iterable[str], page: int) -> Iterator[list[str]]:
    """`users` checked and in pages of distinct ids (a repeat within a page is read once)."""
    chunk: dict[str, None] = {}
    for k, user in enumerate(users):
        try:
            chunk[check_user_id(user)] = None
        except InvalidInput as exc:
            raise InvalidInput(exc.reason, field=f"users[{k}]") from None
        if len(chunk) >= page:
            yield list(chunk)
            chunk = {}
    if chunk:
        yield list(chunk)
