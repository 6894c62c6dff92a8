"""The feed half of the Engine: item changes queued in the store, then applied in batches.

Every source (a folder, an HTTP feed, pushes to the API) queues its changes in the store
(`store/feed.py`); one worker at a time (`feed_worker.py`, under the store's lease) takes the
oldest, applies them through :meth:`add_items` and :meth:`delete`, and marks them done. The
ingest embeds only items whose text changed, so a batch applied again after a crash (written,
not yet marked) embeds nothing twice.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from likewise.config import Settings
from likewise.engine.catalog import Catalog
from likewise.engine.feed_report import FeedPush, FeedStatus, FeedStep
from likewise.engine.feed_sources import change_of
from likewise.errors import InvalidInput
from likewise.items.model import parse_item
from likewise.store.feed import FeedChange, FeedRow

__all__ = ["Feed", "FeedPush", "FeedStatus", "FeedStep"]


class Feed(Catalog):
    """Queueing item changes and applying them, mixed into the Engine."""

    settings: Settings
    feed_wake: threading.Event | None = None  # set by a push: this process's worker looks now

    def push_feed(self, records: Sequence[Mapping[str, Any]]) -> FeedPush:
        """Queue item upserts and deletions (a record with `"deleted": true`, whatever else it
        holds) for the feed's worker; all valid or nothing queued: InvalidInput naming
        `items[k].field`, or Conflict when a record has nothing for the template to embed
        (as :meth:`add_items`). They are applied by `likewise watch` or a server with a
        feed source, in push order."""
        if not isinstance(records, Sequence) or isinstance(records, str | bytes):
            raise InvalidInput("give a list of item records", field="items")
        changes = [self._pushed(k, record) for k, record in enumerate(records)]
        push = FeedPush(
            upserts=sum(c.op == "upsert" for c in changes),
            deletions=sum(c.op == "delete" for c in changes),
        )
        push.queued = self.store.feed_enqueue(changes)
        if self.feed_wake is not None:
            self.feed_wake.set()
        return push

    def _pushed(self, k: int, record: Any) -> FeedChange:
        where = f"items[{k}]"
        if not isinstance(record, Mapping):
            raise InvalidInput("must be an object", field=where)
        try:
            item = parse_item(record, limits=self.limits)
        except InvalidInput as exc:
            raise InvalidInput(exc.reason, field=_under(where, exc.field)) from None
        if item.metadata.get("deleted") is not True:  # a deletion needs no text to embed
            problems = self.check_items([item])
            if problems:  # a Conflict (409) when there is nothing to embed, as add_items
                problem = problems[0][1]
                raise type(problem)(problem.reason, field=_under(where, problem.field))
        return change_of(item, "api")

    def apply_feed(self, *, batch: int | None = None) -> FeedStep:
        """Take the oldest `batch` waiting changes (default: the `feed_batch` setting) and
        apply them: each item's latest change wins; upserts are embedded in one batch, only
        those whose text changed. A record the catalog refuses is marked failed, naming its
        source and field; the others are applied. Only the feed's worker should call this
        (it holds the store's lease): two at once would apply the same changes twice."""
        rows = self.store.feed_take(batch or self.settings.feed.feed_batch)
        step = FeedStep(taken=len(rows))
        if not rows:
            return step
        latest: dict[str, FeedRow] = {}
        for row in rows:  # in queue order: the last change of an item is the one to apply
            latest[row.item_id] = row
        upserts = [r for r in latest.values() if r.op == "upsert" and r.record is not None]
        deletions = [r.item_id for r in latest.values() if r.op == "delete"]
        records = [json.loads(r.record or "{}") for r in upserts]
        failed = [_failure(upserts[k], problem) for k, problem in self.check_items(records)]
        bad = {seq for seq, _ in failed}
        good = [(rec, r) for rec, r in zip(records, upserts, strict=True) if r.seq not in bad]
        try:
            step.embedded = self.add_items([rec for rec, _ in good]).embedded if good else 0
            step.upserted = len(good)
        except InvalidInput:  # refused only at ingest (bytes that are no picture): one by one
            for rec, row in good:
                try:
                    step.embedded += self.add_items([rec]).embedded
                    step.upserted += 1
                except InvalidInput as exc:  # this record's fault; an outage goes up
                    failed.append(_failure(row, exc))
            bad = {seq for seq, _ in failed}
        if deletions:
            step.deleted = self.delete(deletions)
        step.failed = len(failed)
        self.store.feed_finish([r.seq for r in rows if r.seq not in bad], failed)
        return step

    def feed_status(self, *, failures: int = 10) -> FeedStatus:
        """The queue's counts, its lag and its latest `failures`."""
        counts = self.store.feed_counts(failures=failures)
        lag = 0.0 if counts.oldest is None else max(0.0, time.time() - counts.oldest)
        return FeedStatus(counts.pending, counts.done, counts.failed, lag, counts.failures)


def _failure(row: FeedRow, problem: InvalidInput) -> tuple[int, str]:
    """A change the catalog refused, as the queue keeps it: its seq and why, naming its
    source (file:line, url[k], api) and field."""
    field = (problem.field or "").removeprefix("items[0].") or None
    error = {"source": row.source, "field": field, "error": problem.reason}
    return row.seq, json.dumps(error, ensure_ascii=False)


def _under(where: str, field: str | None) -> str:
    return f"{where}.{field}" if field else where
