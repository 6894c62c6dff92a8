"""A/B experiments: variants, deterministic bucketing, and the two-proportion test (pure).

An experiment splits users between variants by weight. A user's variant is a pure function of
the experiment's name and the user's id (a SHA-256 of both, read as a number in [0, 1)), so a
user sees the same variant on every request, in every process, with nothing stored per user.
Each variant says how to recommend: a strategy and, optionally, the hybrid's `diversity` and
source `weights`. Impressions served under a variant are tagged `EXPERIMENT:VARIANT`, which is
what the report counts.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from likewise.errors import Conflict, InvalidInput, NotFound
from likewise.tracking.report import wilson

__all__ = [
    "Experiment",
    "ExperimentBook",
    "Variant",
    "bucket",
    "parse_split",
    "parse_variant",
    "report",
    "two_proportions",
]

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
STRATEGIES = ("dislike", "ema", "mean", "momentum", "hybrid", "popular")  # RECOMMENDERS
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class Variant:
    """One arm: its name, its share of users, and how it recommends."""

    name: str
    weight: float
    strategy: str
    diversity: float | None = None
    weights: dict[str, float] | None = None

    def settings(self) -> dict[str, Any]:
        """The `Engine.recommend` arguments this variant sets."""
        return {"strategy": self.strategy, "diversity": self.diversity, "weights": self.weights}


@dataclass(frozen=True)
class Experiment:
    """Variants with weights; `running` until stopped; `winner` once a variant is promoted."""

    name: str
    variants: tuple[Variant, ...]
    started: float
    stopped: float | None = None
    winner: str | None = None
    segment: str | None = None  # only users in this segment take part (others: the default)

    def __post_init__(self) -> None:
        check_name(self.name, "name")
        if len(self.variants) < 2:
            raise InvalidInput("an experiment needs at least two variants", field="variants")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise InvalidInput("variant names must differ", field="variants")
        if any(v.weight <= 0 for v in self.variants):
            raise InvalidInput("every variant needs a share above 0", field="split")

    @property
    def running(self) -> bool:
        return self.stopped is None

    def assign(self, user_id: str) -> Variant:
        """The variant `user_id` sees (always the same one)."""
        return bucket(self.name, user_id, self.variants)

    def tag(self, variant: Variant) -> str:
        """The impression strategy that marks lists served under `variant`."""
        return f"{self.name}:{variant.name}"

    def stop(self, at: float) -> Experiment:
        return self if self.stopped is not None else replace(self, stopped=at)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["running"] = self.running
        total = sum(v.weight for v in self.variants)
        for v in out["variants"]:
            v["share"] = v["weight"] / total
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Experiment:
        return cls(
            name=data["name"],
            variants=tuple(_variant(v) for v in data["variants"]),
            started=float(data["started"]),
            stopped=None if data.get("stopped") is None else float(data["stopped"]),
            winner=data.get("winner"),
            segment=data.get("segment"),
        )


def _variant(v: dict[str, Any]) -> Variant:
    return Variant(
        name=v["name"],
        weight=float(v["weight"]),
        strategy=v["strategy"],
        diversity=v.get("diversity"),
        weights=v.get("weights"),
    )


def check_name(name: str, field_name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidInput(
            "use 1-40 lowercase letters, digits, '-' or '_', starting with a letter or digit",
            field=field_name,
        )
    return name


def bucket(experiment: str, user_id: str, variants: tuple[Variant, ...]) -> Variant:
    """The variant of `user_id`: SHA-256 of `experiment` and the id as a point in [0, 1),
    mapped onto the variants' cumulative shares."""
    digest = hashlib.sha256(f"{experiment}\x00{user_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    total = sum(v.weight for v in variants)
    edge = 0.0
    for v in variants:
        edge += v.weight / total
        if point < edge:
            return v
    return variants[-1]  # point within float rounding of 1


def parse_variant(text: str, *, weight: float = 1.0) -> Variant:
    """`a:strategy=ema` or `b:strategy=hybrid,diversity=0.3,weights={"content":1}`."""
    name, sep, body = text.partition(":")
    field_name = "variant"
    if not sep:
        raise InvalidInput("write NAME:strategy=S[,diversity=D]", field=field_name)
    check_name(name.strip(), field_name)
    settings: dict[str, Any] = {}
    # weights hold commas inside braces: split on commas outside them
    parts, depth, start = [], 0, 0
    for k, ch in enumerate(body):
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            parts.append(body[start:k])
            start = k + 1
    parts.append(body[start:])
    for part in filter(None, (p.strip() for p in parts)):
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq:
            raise InvalidInput(f"{part!r} is not KEY=VALUE", field=field_name)
        if key == "strategy":
            if value not in STRATEGIES:
                known = ", ".join(STRATEGIES)
                raise InvalidInput(f"unknown strategy {value!r}; known: {known}", field=field_name)
            settings["strategy"] = value
        elif key == "diversity":
            try:
                settings["diversity"] = float(value)
            except ValueError:
                raise InvalidInput("diversity must be a number", field=field_name) from None
            if not 0.0 <= settings["diversity"] <= 1.0:
                raise InvalidInput("diversity must be within 0..1", field=field_name)
        elif key == "weights":
            message = 'weights must be a JSON object of finite numbers, e.g. {"content":1}'
            try:
                weights = json.loads(value)
                settings["weights"] = {str(k): _weight(w) for k, w in weights.items()}
            except (ValueError, AttributeError, TypeError, OverflowError, RecursionError):
                raise InvalidInput(message, field=field_name) from None
        else:
            raise InvalidInput(
                f"unknown setting {key!r}; known: strategy, diversity, weights", field=field_name
            )
    if "strategy" not in settings:
        raise InvalidInput("each variant needs strategy=...", field=field_name)
    tuned = [k for k in ("diversity", "weights") if k in settings]
    if tuned and settings["strategy"] != "hybrid":
        raise InvalidInput(f"{tuned[0]} applies to strategy=hybrid only", field=field_name)
    return Variant(name=name.strip(), weight=weight, **settings)


def _weight(value: Any) -> float:
    """A weight as a finite float; a boolean, a string or an integer no float holds is not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    out = float(value)  # OverflowError past a float's range
    if not math.isfinite(out):
        raise ValueError(value)
    return out


def parse_split(text: str | None, count: int) -> list[float]:
    """`50/50` or `90/10` (any positive numbers, one per variant); equal shares if None."""
    if text is None:
        return [1.0] * count
    try:
        shares = [float(s) for s in text.split("/")]
    except ValueError:
        raise InvalidInput("write shares like 50/50", field="split") from None
    if len(shares) != count:
        raise InvalidInput(f"give {count} shares, one per variant", field="split")
    if any(not math.isfinite(s) or s <= 0 for s in shares):
        raise InvalidInput("every share must be above 0", field="split")
    return shares


def two_proportions(c1: int, n1: int, c2: int, n2: int) -> tuple[float, float]:
    """Two-sided z-test of p1 == p2 with the pooled proportion: (z, p-value); (0, 1) when
    either group is empty or the pooled rate is 0 or 1."""
    if n1 <= 0 or n2 <= 0:
        return 0.0, 1.0
    pooled = (c1 + c2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (c2 / n2 - c1 / n1) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def report(experiment: Experiment, counts: dict[str, tuple[int, int, int]]) -> dict[str, Any]:
    """Per variant: impressions, clicks, CTR with its 95% interval, conversions; each variant
    against the first (the control) by a two-proportion z-test, significant below p = 0.05.
    `counts` maps a variant's name to (impressions, clicks, conversions)."""
    rows = []
    for v in experiment.variants:
        n, c, conv = counts.get(v.name, (0, 0, 0))
        rows.append(
            {
                "variant": v.name,
                **v.settings(),
                "impressions": n,
                "clicks": c,
                "ctr": c / n if n else 0.0,
                "ctr_ci95": list(wilson(c, n)),
                "conversions": conv,
            }
        )
    control = experiment.variants[0].name
    n0, c0, _ = counts.get(control, (0, 0, 0))
    comparisons: list[dict[str, Any]] = []
    for v in experiment.variants[1:]:
        n, c, _ = counts.get(v.name, (0, 0, 0))
        z, p = two_proportions(c0, n0, c, n)
        difference = (c / n if n else 0.0) - (c0 / n0 if n0 else 0.0)
        if p < SIGNIFICANCE:
            verdict = f"{v.name} {'beats' if difference > 0 else 'trails'} {control}"
        else:
            verdict = f"{v.name} vs {control}: no significant difference yet"
        comparisons.append(
            {
                "variant": v.name,
                "control": control,
                "difference": difference,
                "z": z,
                "p_value": p,
                "significant": p < SIGNIFICANCE,
                "verdict": f"{verdict} (p = {p:.3g})",
            }
        )
    return {
        "experiment": experiment.as_dict(),
        "variants": rows,
        "comparisons": comparisons,
        "summary": "; ".join(c["verdict"] for c in comparisons),
    }


BLOB = "experiments"


class ExperimentBook:
    """The experiments and the promoted default, kept as one JSON blob in the store; re-read at
    most every `refresh` seconds, so every server process sees a change within that time."""

    def __init__(
        self,
        load: Callable[[], bytes | None],
        save: Callable[[bytes], None],
        *,
        refresh: float = 1.0,
    ) -> None:
        self._load = load
        self._save = save
        self._refresh = refresh
        self._lock = threading.Lock()
        self._read_at = -math.inf
        self._state: dict[str, Any] = {"experiments": [], "default": None}

    def state(self) -> dict[str, Any]:
        now = time.monotonic()
        if now - self._read_at >= self._refresh:
            data = self._load()
            self._state = json.loads(data) if data else {"experiments": [], "default": None}
            self._read_at = now
        return self._state

    def all(self) -> list[Experiment]:
        return [Experiment.from_dict(e) for e in self.state()["experiments"]]

    def get(self, name: str) -> Experiment:
        for e in self.all():
            if e.name == name:
                return e
        raise NotFound("experiment", name)

    def running(self) -> Experiment | None:
        for e in self.all():
            if e.running:
                return e
        return None

    def default(self) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.state().get("default")
        return found

    def add(self, experiment: Experiment) -> None:
        with self._lock:
            self._read_at = -math.inf  # decide on the stored state, not a cached one
            state = self.state()
            if any(e["name"] == experiment.name for e in state["experiments"]):
                raise Conflict(f"experiment {experiment.name!r} exists", field="name")
            running = [e["name"] for e in state["experiments"] if e.get("stopped") is None]
            if running:
                message = f"experiment {running[0]!r} is running; stop it first"
                raise Conflict(message, field="name")
            self._write({**state, "experiments": [*state["experiments"], experiment.as_dict()]})

    def update(self, experiment: Experiment, default: dict[str, Any] | None = None) -> None:
        with self._lock:
            self._read_at = -math.inf
            state = self.state()
            rows = [
                experiment.as_dict() if e["name"] == experiment.name else e
                for e in state["experiments"]
            ]
            self._write({**state, "experiments": rows, **({"default": default} if default else {})})

    def _write(self, state: dict[str, Any]) -> None:
        self._save(json.dumps(state).encode())
        self._state = state
        self._read_at = time.monotonic()
