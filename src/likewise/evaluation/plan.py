"""What an evaluation run is asked to do (:class:`EvalRequest`) and what it gives back
(:class:`Evaluation`), with the pieces every protocol's run shares.

A bad value is an :class:`InvalidInput` whose `field` names the request field (`strategies`,
`users`, ...); the parsers of text options take the field name to report, as `json_object` does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from likewise.engine import Engine
from likewise.errors import InvalidInput
from likewise.evaluation.replay import Result

__all__ = [
    "DATASETS",
    "DEFAULT_STRATEGIES",
    "Bars",
    "EvalRequest",
    "Evaluation",
    "Progress",
    "Protocol",
    "Trial",
    "no_bars",
    "parse_k",
    "replay",
]

Protocol = Literal["temporal", "sequential", "random", "cold-items"]
Progress = Callable[[int], object]
# A progress display: `bars(total, what)` opens one, yielding the callback to advance it.
Bars = Callable[[int, str], AbstractContextManager[Progress]]

DATASETS = {"movielens-1m": "ml-1m", "movielens-100k": "ml-100k"}
DEFAULT_STRATEGIES = (
    "popular",
    "mean",
    "ema",
    "ema+dislike",
    "momentum",
    "itemknn",
    "ease",
    "sequential",
    "behaviour",
    "mean@behaviour",
    "ema@behaviour",
    "ema+dislike@behaviour",
    "momentum@behaviour",
    "related",
    "hybrid",
)
RANDOM_DEFAULT = ("popular", "itemknn", "ease", "sequential", "behaviour", "hybrid")
REPLAY_BATCH = 5_000  # events per durable transaction while replaying


class Trial(NamedTuple):
    """One value tried while tuning: the tuning strategy's scores on the validation items."""

    name: str
    value: float
    result: Result


@dataclass(frozen=True)
class EvalRequest:
    """One evaluation: the data, the protocol, what to score and what to tune first.

    dataset: `movielens-1m`, `movielens-100k`, or `ITEMS,EVENTS` files (temporal and
    cold-items protocols only). strategies: None for the protocol's default set. k: list
    lengths, ascending. users: only the first N users. tune: (parameter, values) tried one
    parameter at a time on each user's second-to-last like, scored by `tune_strategy`.
    neural_epochs: train the neural model (`likewise[neural]`) for this many passes (None:
    the setting); the default strategies then include `neural`. tune_min_score: a share of
    hits (e.g. 0.05): report each strategy's `min_score` that loses at most that share of
    its hits at k (replay protocols).
    """

    dataset: str = "movielens-1m"
    protocol: Protocol = "temporal"
    strategies: tuple[str, ...] | None = None
    k: tuple[int, ...] = (10,)
    users: int | None = None
    model: str = "minilm"
    tune: tuple[tuple[str, tuple[float, ...]], ...] = ()
    tune_strategy: str = "ema"
    neural_epochs: int | None = None
    tune_min_score: float | None = None

    def strategy_names(self) -> tuple[str, ...]:
        """The strategies asked for, or the protocol's default set (with `neural` when the
        neural model is trained)."""
        if self.strategies is not None:
            return self.strategies
        names: tuple[str, ...] = RANDOM_DEFAULT if self.protocol == "random" else DEFAULT_STRATEGIES
        if self.neural_epochs:
            at = names.index("sequential") + 1
            names = (*names[:at], "neural", *names[at:])
        return names


@dataclass(frozen=True)
class Evaluation:
    """What a run measured: `rows` (one per strategy and k) and `markdown`, the tables and
    notes as a person reads them. Replay protocols also give `results` (by strategy, then k),
    the `tuning` trials and the `chosen` values."""

    title: str
    rows: list[dict[str, Any]]
    markdown: str
    notes: str = ""
    results: list[Result] = dataclasses.field(default_factory=list)
    tuning: list[Trial] = dataclasses.field(default_factory=list)
    chosen: dict[str, float] = dataclasses.field(default_factory=dict)

    def at(self, k: int) -> list[Result]:
        """The results at list length `k`, one per strategy."""
        return [r for r in self.results if r.k == k]


def parse_k(text: str, field: str = "k") -> tuple[int, ...]:
    """`"10,20"` as sorted distinct list lengths (InvalidInput naming `field` otherwise)."""
    try:
        ks = sorted({int(part) for part in str(text).split(",") if part.strip()})
    except ValueError:
        raise InvalidInput("must be whole numbers separated by commas", field=field) from None
    if not ks or ks[0] < 1 or ks[-1] > 100:
        raise InvalidInput("each k must be within 1..100", field=field)
    return tuple(ks)


@contextmanager
def no_bars(total: int, what: str) -> Iterator[Progress]:
    """The default progress display: none."""
    yield lambda done: None


def replay(engine: Engine, events: Sequence[Any], bars: Bars) -> None:
    """Record `events` in order, in durable batches."""
    with bars(len(events), "replay") as advance:
        for start in range(0, len(events), REPLAY_BATCH):
            engine.record_many(events[start : start + REPLAY_BATCH])
            advance(min(REPLAY_BATCH, len(events) - start))
