"""Tuning before the test: parameters tried one at a time on each user's second-to-last like.

Profile parameters (alpha, beta, mean_n) rebuild every profile with the value; ranking
parameters (diversity, and the content and popular weights beside collaborative 1) are
per-request overrides of the hybrid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from likewise.config import Settings
from likewise.engine import Engine
from likewise.errors import InvalidInput
from likewise.evaluation.plan import Bars, EvalRequest, Trial, replay
from likewise.evaluation.replay import evaluate as score
from likewise.evaluation.replay import temporal_split
from likewise.recommend.ranker import DEFAULT_WEIGHTS

__all__ = [
    "PROFILE_KNOBS",
    "RANKING_KNOBS",
    "OnTrial",
    "Scratch",
    "check_tune",
    "parse_tune",
    "ranking_overrides",
    "tune",
    "tuned_settings",
]

# parameter -> (low, high): the values a run may try.
PROFILE_KNOBS = {"alpha": (0.0, 1.0), "beta": (0.0, 5.0), "mean_n": (1.0, 50.0)}
RANKING_KNOBS = {"diversity": (0.0, 1.0), "content": (0.0, 10.0), "popular": (0.0, 10.0)}
KNOBS = {**PROFILE_KNOBS, **RANKING_KNOBS}


OnTrial = Callable[[Trial, bool], object]  # called with each trial and whether it was chosen


def parse_tune(text: str, field: str = "tune") -> tuple[str, tuple[float, ...]]:
    """`"alpha=0.1,0.3"` as (parameter, values), checked (InvalidInput naming `field`)."""
    name, _, values = text.partition("=")
    name = name.strip()
    if name not in KNOBS:
        known = ", ".join(KNOBS)
        raise InvalidInput(f"unknown parameter {name!r}; known: {known}", field=field)
    try:
        numbers = tuple(float(v) for v in values.split(",") if v.strip())
    except ValueError:
        raise InvalidInput("must be numbers separated by commas", field=field) from None
    _check_values(name, numbers, field)
    return name, numbers


def _check_values(name: str, numbers: Sequence[float], field: str) -> None:
    low, high = KNOBS[name]
    if (
        not numbers
        or any(not low <= v <= high for v in numbers)
        or (name == "alpha" and 0.0 in numbers)
    ):
        raise InvalidInput(f"each {name} must be in ({low:g}, {high:g}]", field=field)


def check_tune(request: EvalRequest) -> None:
    """Every parameter known and in range; ranking parameters need the hybrid to score."""
    for name, values in request.tune:
        if name not in KNOBS:
            raise InvalidInput(f"unknown parameter {name!r}", field="tune")
        _check_values(name, values, "tune")
    if any(name in RANKING_KNOBS for name, _ in request.tune) and (
        request.tune_strategy != "hybrid"
    ):
        message = "diversity, content and popular shape the hybrid: use --tune-strategy hybrid"
        raise InvalidInput(message, field="tune_strategy")


def profile_settings(chosen: Mapping[str, float]) -> dict[str, Any]:
    """The profile settings among the chosen values (mean_n is a count)."""
    out: dict[str, Any] = {k: v for k, v in chosen.items() if k in PROFILE_KNOBS}
    if "mean_n" in out:
        out["mean_n"] = int(out["mean_n"])
    return out


def ranking_overrides(chosen: Mapping[str, float]) -> dict[str, Any]:
    """The hybrid's per-request overrides among the chosen values."""
    weights = {k: chosen[k] for k in ("content", "popular") if k in chosen}
    return {
        "weights": {**(Settings().ranking.hybrid_weights or DEFAULT_WEIGHTS), **weights}
        if weights
        else None,
        "diversity": chosen.get("diversity"),
    }


def tuned_settings(chosen: Mapping[str, float]) -> dict[str, Any]:
    """The chosen values as the settings that apply them (`alpha`, `diversity`, the hybrid's
    `hybrid_weights`), for a configuration file a server reads (`--config`)."""
    overrides = ranking_overrides(chosen)
    return {
        **profile_settings(chosen),
        "diversity": overrides["diversity"],
        "hybrid_weights": overrides["weights"],
    }


class Scratch:
    """A run's engine on a scratch folder, reopened with other profile settings to tune."""

    def __init__(self, folder: str, model: str) -> None:
        self.folder = folder
        self.engine = Engine.open(folder, model=model, settings=Settings(cache_size=0))

    def reopen(self, chosen: Mapping[str, float]) -> None:
        """Every profile rebuilt with the profile parameters among `chosen`."""
        self.engine.close()
        settings = Settings(cache_size=0, **profile_settings(chosen))
        self.engine = Engine.open(self.folder, settings=settings)
        self.engine.rebuild_profiles()

    def close(self) -> None:
        self.engine.close()


def tune(
    scratch: Scratch,
    history: list[Mapping[str, Any]],
    request: EvalRequest,
    bars: Bars,
    on_trial: OnTrial | None = None,
) -> tuple[dict[str, float], list[Trial], list[Mapping[str, Any]]]:
    """(chosen values, trials, the history still to replay).

    Replays up to each user's second-to-last like and tunes there, one parameter at a time
    (the others at their best so far); the engine is left with the chosen values, so the rest
    of the history is replayed with them and the test item is looked at once."""
    early, targets = temporal_split(history)
    replay(scratch.engine, early, bars)
    scratch.engine.train()
    chosen: dict[str, float] = {}
    trials: list[Trial] = []
    for name, values in request.tune:
        tried = [_try(scratch, {**chosen, name: v}, name, targets, request, bars) for v in values]
        chosen[name] = max(tried, key=lambda t: t.result.ndcg).value
        for trial in tried:
            trials.append(trial)
            if on_trial:
                on_trial(trial, trial.value == chosen[name])
    scratch.reopen(chosen)
    replayed = {id(e) for e in early}
    return chosen, trials, [e for e in history if id(e) not in replayed]


def _try(
    scratch: Scratch,
    values: dict[str, float],
    name: str,
    targets: dict[str, str],
    request: EvalRequest,
    bars: Bars,
) -> Trial:
    if name in PROFILE_KNOBS:
        scratch.reopen(values)
    with bars(len(targets), f"{name} {values[name]:g}") as advance:
        scored = score(
            scratch.engine,
            targets,
            [request.tune_strategy],
            k=request.k[0],
            progress=advance,
            **ranking_overrides(values),
        )
    return Trial(name, values[name], scored[0])
