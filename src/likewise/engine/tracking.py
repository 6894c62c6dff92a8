"""Tracking for the Engine: shown lists, experiments, and the reports on both, over one store."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from likewise.config import TrackingConfig
from likewise.engine.segments import segment_rates
from likewise.errors import InvalidInput, NotFound
from likewise.filters import parse_where
from likewise.store import Store
from likewise.tracking import Impression, ImpressionLog, RateRow
from likewise.tracking.experiments import (
    BLOB,
    Experiment,
    ExperimentBook,
    check_name,
    parse_split,
    parse_variant,
)
from likewise.tracking.experiments import report as experiment_report

__all__ = ["Tracker"]

GROUPS = ("strategy", "day", "day,strategy", "segment", "segment,strategy")


class Tracker:
    """Impressions written in the background, the experiment book kept in the store, and
    the CTR and activity reports. `changed` is called when lists must be made again."""

    def __init__(self, store: Store, config: TrackingConfig, changed: Callable[[], None]) -> None:
        self.store = store
        self.config = config
        self.changed = changed
        self.impressions = ImpressionLog(store.log_impressions)
        self.book = ExperimentBook(
            lambda: store.get_blob(BLOB), lambda data: store.put_blob(BLOB, data)
        )

    def choose(
        self, user_id: str, within: Callable[[str], bool] = lambda _: False
    ) -> tuple[dict[str, Any] | None, str | None]:
        """How to recommend when the request does not say: the running experiment's arm for
        this user (and its tag), else the promoted winner of the last one, else nothing. An
        experiment restricted to a segment takes only the users `within` it: the others get
        the default and are not counted in it (their membership is read only then)."""
        running = self.book.running()
        if running is not None and (running.segment is None or within(running.segment)):
            arm = running.assign(user_id)
            return arm.settings(), running.tag(arm)
        return self.book.default(), None

    def log(
        self,
        rec_id: str,
        user_id: str,
        strategy: str,
        items: Sequence[str],
        context: Mapping[str, Any] | None,
        ms: float | None,
        mark: int | None,
    ) -> None:
        """Queue the impression of a list begun at the store's forget `mark` (None: now)."""
        if mark is None:
            mark = self.store.forget_mark()
        self.impressions.add(
            Impression(rec_id, user_id, strategy, list(items), context or {}, ms=ms, mark=mark)
        )

    def create(
        self, name: str, variants: Sequence[str], split: str | None, segment: str | None = None
    ) -> Experiment:
        shares = parse_split(split, len(variants))
        arms = tuple(parse_variant(v, weight=w) for v, w in zip(variants, shares, strict=True))
        if segment is not None and check_name(segment, "segment") not in self.store.segments():
            raise NotFound("segment", segment, field="segment")
        experiment = Experiment(
            name=check_name(name, "name"), variants=arms, started=time.time(), segment=segment
        )
        self.book.add(experiment)
        self.changed()
        return experiment

    def report(self, name: str) -> dict[str, Any]:
        experiment = self.book.get(name)
        rows = self.rates("strategy", experiment.started)
        prefix = f"{name}:"
        counts = {
            r.group[len(prefix) :]: (r.impressions, r.clicks, r.conversions)
            for r in rows
            if r.group.startswith(prefix)
        }
        return experiment_report(experiment, counts)

    def stop(self, name: str, promote: str | None) -> Experiment:
        experiment = self.book.get(name).stop(time.time())
        default = None
        if promote is not None:
            arm = next((v for v in experiment.variants if v.name == promote), None)
            if arm is None:  # as a missing experiment is: nothing is stopped
                raise NotFound("variant", promote, field="promote")
            experiment = replace(experiment, winner=promote)
            default = arm.settings()
        self.book.update(experiment, default)
        self.changed()
        return experiment

    def rates(self, group_by: str, since: float) -> list[RateRow]:
        if group_by not in GROUPS:
            known = ", ".join(f"'{g}'" for g in GROUPS)
            raise InvalidInput(f"must be one of {known}", field="group_by")
        self.impressions.flush()
        clicks, conversions = self.config.click_types, self.config.conversion_types
        if group_by.startswith("segment"):
            return self._segment_rates(group_by, since, clicks, conversions)
        return self.store.rate_rows(group_by, since, clicks, conversions)

    def _segment_rates(
        self, group_by: str, since: float, clicks: Sequence[str], conversions: Sequence[str]
    ) -> list[RateRow]:
        """Per segment: each user's lists counted under every segment their properties put
        them in now (a report reads the properties as they are, not as they were)."""
        rows = self.store.segment_rate_rows(since, clicks, conversions)
        users = list(dict.fromkeys(r[0] for r in rows))
        props = self.store.user_properties(users) if users else {}
        filters = {n: parse_where(w) for n, w in self.store.segments().items()}
        return segment_rates(rows, props, filters, by_strategy=group_by == "segment,strategy")

    def activity(self, since: float, items: int) -> dict[str, Any]:
        self.impressions.flush()
        return self.store.activity(since).as_dict(items)
