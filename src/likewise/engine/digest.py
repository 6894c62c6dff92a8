"""Newsletters: `n` items for every user (or a list of them), a page of users at a time,
each list logged as an impression of strategy `digest` (the Engine's `digest`)."""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from likewise.config import Settings
from likewise.engine.checks import check_n
from likewise.engine.digest_jobs import DigestJobs
from likewise.engine.tracking import Tracker
from likewise.errors import InvalidInput, NotFound
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
    _digest_jobs: DigestJobs | None = None

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

    if TYPE_CHECKING:  # the Segments half's (a stub here would hide it from the Engine)

        def segment_users(self, name: str, *, batch: int = 1_000) -> Iterator[str]: ...

    def digest(
        self,
        name: str,
        n: int = 10,
        *,
        users: Iterable[str] | None = None,
        segment: str | None = None,
        where: Mapping[str, Any] | None = None,
        exclude_sent: bool = True,
        strategy: str | None = None,
        progress: Progress | None = None,
        page: int = DIGEST_PAGE,
    ) -> Iterator[tuple[str, Recommendation]]:
        """A newsletter's lists: `(user_id, Recommendation)` for every user with a profile
        (in id order), or for each of `users` (any iterable: a list, a file's lines; each
        user once), or for the users of `segment` (its filter over their properties as they
        are now), skipping users whose list is empty. The arguments are checked here, before
        the first list is made (InvalidInput naming `name`, `n`, `users`, `segment`, `where`
        or `strategy`; NotFound naming `segment` when there is none of that name).

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
        if segment is not None:
            users = self._segment(segment, users)
        if isinstance(users, Sequence):  # all checked before the first page is logged
            for _ in _pages(users, len(users) or 1):
                pass
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

    def start_digest(
        self,
        name: str,
        n: int = 10,
        *,
        users: Sequence[str] | None = None,
        segment: str | None = None,
        where: Mapping[str, Any] | None = None,
        exclude_sent: bool = True,
        strategy: str | None = None,
    ) -> dict[str, Any]:
        """Start :meth:`digest` in a background thread (InvalidInput as it raises, and then
        nothing starts); returns the job's state: `id`, `status` (running, done, failed,
        interrupted), `progress` (0 to 1), and the `users`, `lists` and `items` so far.
        Read it again with :meth:`digest_job`, and the rows with :meth:`digest_rows`. The
        jobs are kept in files (see `engine.digest_jobs`): any process on the store answers
        for them, and a job whose process stopped reads `interrupted`."""
        if isinstance(users, str | bytes):
            raise InvalidInput("must be a list of user ids, not one string", field="users")
        if segment is not None:  # its users as they are now, checked before the job starts
            users = list(self._segment(segment, users))
        listed = None if users is None else list(users)
        total = self.store.digest_user_count() if listed is None else len(dict.fromkeys(listed))
        args: dict[str, Any] = {"n": n, "users": None if listed is None else len(listed)}
        args.update(segment=segment, where=where, exclude_sent=exclude_sent, strategy=strategy)

        def make(progress: Progress) -> Iterator[tuple[str, Recommendation]]:
            return self.digest(
                name,
                n,
                users=listed,
                where=where,
                exclude_sent=exclude_sent,
                strategy=strategy,
                progress=progress,
            )

        return self._jobs().start(make, name, total, args)

    def _segment(self, segment: str, users: Iterable[str] | None) -> Iterator[str]:
        """The users of `segment`, refused naming `segment` (with `users` too: one or the
        other)."""
        if users is not None:
            raise InvalidInput("give users or a segment, not both", field="segment")
        try:
            return self.segment_users(segment)
        except InvalidInput as exc:
            raise InvalidInput(exc.reason, field="segment") from None
        except NotFound as exc:
            raise NotFound("segment", exc.key, field="segment") from None

    def digest_job(self, job_id: str) -> dict[str, Any]:
        """A digest job's state (see :meth:`start_digest`), or NotFound naming `job_id`."""
        return self._jobs().get(job_id)

    def digest_rows(self, job_id: str) -> Iterator[bytes]:
        """A finished digest job's rows as JSONL, in chunks: one line per list, `{"digest",
        "recommendation_id", "user_id", "strategy", "items", ...}`. Conflict (`job_id`)
        while it runs, or when it failed or was interrupted."""
        return self._jobs().rows(job_id)

    def _forget_digests(self, user_id: str) -> int:
        """Delete the user's rows from the digest jobs' files (a forget's part)."""
        return self._jobs().forget(user_id)

    def _jobs(self) -> DigestJobs:
        if self._digest_jobs is None:
            self._digest_jobs = DigestJobs(self._jobs_folder())
        return self._digest_jobs

    def _jobs_folder(self) -> Path:
        """`digests/` in the embedded store's folder; else a folder of the system's
        temporary one, named by the store's location."""
        path = getattr(self.store, "path", None)
        if isinstance(path, Path):
            return path / "digests"
        where = str(self.store.stats().get("location"))
        key = hashlib.sha256(where.encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / "likewise-digests" / key

    def _all_users(self, page: int) -> Iterator[list[str]]:
        after = ""
        while ids := self.store.digest_users(after=after, limit=page):
            yield ids
            after = ids[-1]


def _pages(users: Iterable[str], page: int) -> Iterator[list[str]]:
    """`users` checked and in pages, each user once (a repeat is left out: one list each)."""
    chunk: list[str] = []
    done: set[str] = set()
    for k, user in enumerate(users):
        try:
            check_user_id(user)
        except InvalidInput as exc:
            raise InvalidInput(exc.reason, field=f"users[{k}]") from None
        if user in done:
            continue
        done.add(user)
        chunk.append(user)
        if len(chunk) >= page:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
