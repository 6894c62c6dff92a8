"""The measuring half of the Engine: experiments, and the CTR and activity reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from likewise.engine.tracking import Tracker
from likewise.store import Store
from likewise.tracking import RateRow
from likewise.tracking.experiments import Experiment

__all__ = ["Measures"]


class Measures:
    """Which lists work: A/B experiments over how lists are made, and the reports on what
    was shown and what it led to. Mixed into the Engine, which owns `tracker`."""

    tracker: Tracker
    store: Store

    def create_experiment(
        self,
        name: str,
        variants: Sequence[str],
        *,
        split: str | None = None,
        segment: str | None = None,
    ) -> Experiment:
        """Start an A/B experiment: `variants` like `a:strategy=ema` or
        `b:strategy=hybrid,diversity=0.3`, shares like `50/50` (equal if None). Users are
        bucketed by id; one experiment runs at a time. With `segment`, only the users in that
        segment (when they ask) take part; the others get the default and are not counted."""
        return self.tracker.create(name, variants, split, segment)

    def list_experiments(self) -> list[Experiment]:
        """Every experiment, running or stopped, oldest first."""
        return self.tracker.book.all()

    def experiment_report(self, name: str) -> dict[str, Any]:
        """Per variant: lists shown, clicks, CTR (95% interval), conversions; each variant
        against the first by a two-proportion test."""
        return self.tracker.report(name)

    def stop_experiment(self, name: str, *, promote: str | None = None) -> Experiment:
        """Stop an experiment (lists go back to the default); with `promote`, that variant's
        settings become the default for requests that do not choose a strategy."""
        return self.tracker.stop(name, promote)

    def ctr_report(self, *, group_by: str = "strategy", since: float = 0.0) -> list[RateRow]:
        """Impressions, clicks, CTR, conversions and mean dwell per strategy, per day, or per
        `day,strategy` (groups named "YYYY-MM-DD STRATEGY"). Lists served by an experiment
        count under "EXPERIMENT:VARIANT". Per `segment` (or `segment,strategy`, groups named
        "SEGMENT STRATEGY"): each user's lists count in every segment their properties put
        them in now (so the rows may sum to more lists than were shown); users in no
        segment are left out."""
        return self.tracker.rates(group_by, since)

    def activity_report(self, *, since: float = 0.0) -> dict[str, Any]:
        """Since `since`: events per UTC day and type, percentiles of the milliseconds each
        tracked list took (overall and per strategy or experiment variant), and catalog
        coverage (the share of items shown in at least one list)."""
        return self.tracker.activity(since, self.store.count())
