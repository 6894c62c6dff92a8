"""Offline evaluation of group lists: synthetic groups of MovieLens users, similar and
dissimilar in taste, each scored on its members' held-out items.

The protocol, end to end (through the serving code, as `evaluation/run.py` does):

1. Temporal leave-last-out: each user's last positive rating (by time) is held out, and
   their later ratings left out; the rest is replayed into a scratch engine with
   `Engine.record_many` (so each user's profile is the one serving would use).
2. Each user's taste vector is the mean of the unit vectors of the items they rated
   positively in that history. Over random pairs of users, the cosines of those vectors
   give two thresholds: `similar_quantile` (0.9 by default) and `dissimilar_quantile` (0.1).
3. Groups of 2 to 4 members (the size drawn uniformly): "similar" groups are an anchor user
   and nearest users whose cosine to every member is at or above the high threshold;
   "dissimilar" groups are an anchor and random users whose cosine to every member is at or
   below the low one.
4. Each group gets one list of `k` per strategy (`Engine.recommend_group`, not logged) in
   each of `spaces` (`text`: content; `behaviour`: the vectors `Engine.train` learns from
   the replayed history), and each member's held-out item is looked for in it:
   - group HR@k: the share of groups whose list holds any member's held-out item;
   - mean member HR@k: over groups, the share of its members whose item is in the list;
   - worst-member HR@k: over groups, the minimum of the members' hits (1 only when the list
     holds every member's item).
   The baseline is each member's own list (`Engine.recommend` with the `dislike` profile
   strategy, the same interest vector a group list scores with), measured the same way: how
   well the members would do if each were served alone. A group list leaves out what any
   member has seen, so a member's held-out item seen by another member cannot be hit: the
   table gives the share of such items per kind of group (high in similar groups).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from likewise.datasets import movielens_items, movielens_ratings
from likewise.engine import Engine
from likewise.errors import Conflict, InvalidInput
from likewise.evaluation.plan import Bars, no_bars, replay
from likewise.evaluation.replay import temporal_split
from likewise.evaluation.tuning import Scratch
from likewise.recommend.group import GROUP_STRATEGIES

__all__ = ["GroupRequest", "GroupResult", "build_groups", "run_groups", "table"]

BASELINE = "individual"  # each member's own list
KINDS = ("similar", "dissimilar")
PAIRS = 20_000  # random pairs the thresholds are read from


@dataclass(frozen=True)
class GroupRequest:
    """What to measure: `groups` of each kind from `dataset` (`ml-1m` or `ml-100k`), the
    first `users` users only when given, with the embedding `model`."""

    dataset: str = "ml-1m"
    groups: int = 300
    sizes: tuple[int, ...] = (2, 3, 4)
    k: int = 10
    users: int | None = None
    model: str = "minilm"
    spaces: tuple[str, ...] = ("text",)  # and `behaviour`: trained after the replay
    similar_quantile: float = 0.9
    dissimilar_quantile: float = 0.1
    seed: int = 0


@dataclass(frozen=True)
class GroupResult:
    """One strategy on one kind of group, in one space."""

    space: str
    kind: str
    strategy: str
    groups: int
    group_hr: float
    member_hr: float
    worst_hr: float
    blocked: float = 0.0  # share of members whose held-out item another member has seen


@dataclass
class GroupEvaluation:
    """Every result, the thresholds, how alike each kind's members are, and the seconds."""

    results: list[GroupResult]
    thresholds: dict[str, float]
    cohesion: dict[str, float]  # mean pairwise cosine of members' taste vectors, per kind
    skipped: dict[str, int] = field(default_factory=dict)  # groups not formed, per kind
    seconds: float = 0.0


def run_groups(request: GroupRequest, *, bars: Bars = no_bars) -> GroupEvaluation:
    """Measure every group strategy and the individual baseline (see the module)."""
    if request.groups < 1 or not request.sizes or min(request.sizes) < 2:
        raise InvalidInput("at least one group of at least 2 members", field="groups")
    started = time.perf_counter()
    items = movielens_items(request.dataset)
    history, targets = temporal_split(movielens_ratings(request.dataset, users=request.users))
    with (
        tempfile.TemporaryDirectory(prefix="likewise-groups-") as folder,
        closing(Scratch(folder, request.model)) as scratch,
    ):
        engine = scratch.engine
        with bars(len(items), "embed") as advance:
            engine.add_items(items, progress=advance)
        replay(engine, history, bars)
        if "behaviour" in request.spaces:
            engine.train()
        users, tastes = _tastes(engine, history, targets)
        rng = np.random.default_rng(request.seed)
        thresholds = _thresholds(tastes, request, rng)
        groups = {
            kind: build_groups(tastes, kind, thresholds[kind], request, rng) for kind in KINDS
        }
        results: list[GroupResult] = []
        total = sum(map(len, groups.values())) * len(request.spaces)
        with bars(total, "groups") as advance:
            for space in request.spaces:
                for kind, found in groups.items():
                    named = [[users[m] for m in g] for g in found]
                    results += _score(engine, space, kind, named, targets, request.k)
                    advance(len(found))
    cohesion = {kind: _cohesion(tastes, g) for kind, g in groups.items()}
    skipped = {kind: request.groups - len(g) for kind, g in groups.items()}
    seconds = time.perf_counter() - started
    return GroupEvaluation(results, thresholds, cohesion, skipped, seconds)


def _tastes(
    engine: Engine, history: Sequence[Mapping[str, Any]], targets: Mapping[str, str]
) -> tuple[list[str], np.ndarray[Any, Any]]:
    """The users with a held-out item and a positive rating before it, and their taste
    vectors (rows: the mean of their positive items' unit vectors, made unit)."""
    liked: dict[str, list[str]] = {}
    for event in history:
        user = str(event["user_id"])
        if user in targets and float(event.get("value") or 0) >= 4:
            liked.setdefault(user, []).append(str(event["item_id"]))
    vectors = engine.vectors(list({i for ids in liked.values() for i in ids}))
    users, rows = [], []
    for user, ids in liked.items():
        found = [vectors[i] for i in ids if i in vectors]
        if found:
            row = np.mean(np.stack(found), axis=0)
            if np.linalg.norm(row) > 0:
                users.append(user)
                rows.append(row / np.linalg.norm(row))
    return users, np.asarray(rows, dtype=np.float32)


def _thresholds(
    tastes: np.ndarray[Any, Any], request: GroupRequest, rng: np.random.Generator
) -> dict[str, float]:
    """The cosines of `PAIRS` random pairs of users at the two quantiles."""
    a = rng.integers(0, len(tastes), PAIRS)
    b = rng.integers(0, len(tastes), PAIRS)
    keep = a != b
    cosines = np.einsum("ij,ij->i", tastes[a[keep]], tastes[b[keep]])
    return {
        "similar": float(np.quantile(cosines, request.similar_quantile)),
        "dissimilar": float(np.quantile(cosines, request.dissimilar_quantile)),
    }


def build_groups(
    tastes: np.ndarray[Any, Any],
    kind: str,
    threshold: float,
    request: GroupRequest,
    rng: np.random.Generator,
) -> list[list[int]]:
    """Up to `request.groups` groups (rows of `tastes`): for `similar`, an anchor and its
    nearest users whose cosine to every member is at least `threshold`; for `dissimilar`,
    an anchor and random users whose cosine to every member is at most `threshold`. An
    anchor that cannot be completed is dropped; at most 20 tries a group."""
    groups: list[list[int]] = []
    seen: set[tuple[int, ...]] = set()
    for _ in range(request.groups * 20):
        if len(groups) == request.groups:
            break
        size = int(rng.choice(request.sizes))
        anchor = int(rng.integers(0, len(tastes)))
        if kind == "similar":
            order = np.argsort(-(tastes @ tastes[anchor]))[:200]
        else:
            order = rng.permutation(len(tastes))[:2000]
        members = [anchor]
        for other in order:
            cosines = tastes[members] @ tastes[other]
            fits = cosines >= threshold if kind == "similar" else cosines <= threshold
            if int(other) not in members and bool(np.all(fits)):
                members.append(int(other))
                if len(members) == size:
                    break
        key = tuple(sorted(members))
        if len(members) == size and key not in seen:
            seen.add(key)
            groups.append(members)
    return groups


def _score(
    engine: Engine,
    space: str,
    kind: str,
    groups: Sequence[Sequence[str]],
    targets: Mapping[str, str],
    k: int,
) -> list[GroupResult]:
    """Each strategy's figures over `groups`, then the individual baseline's."""
    hits: dict[str, list[list[bool]]] = {s: [] for s in (*GROUP_STRATEGIES, BASELINE)}
    blocked: list[float] = []
    for members in groups:
        for strategy in GROUP_STRATEGIES:
            try:
                rec = engine.recommend_group(
                    members, k, strategy=strategy, space=space, track=False
                )
            except Conflict:  # a member whose positive ratings left no direction
                break
            shown = {r.id for r in rec.items}
            hits[strategy].append([targets[m] in shown for m in members])
        else:
            own = []
            for m in members:
                rec = engine.recommend(m, n=k, strategy="dislike", space=space, track=False)
                own.append(targets[m] in {r.id for r in rec.items})
            hits[BASELINE].append(own)
            seen = {m: set(engine.seen(m)) for m in members}
            others = [any(targets[m] in seen[o] for o in members if o != m) for m in members]
            blocked.append(float(np.mean(others)))
    share = float(np.mean(blocked)) if blocked else 0.0
    return [
        replace(_result(space, kind, strategy, rows), blocked=share)
        for strategy, rows in hits.items()
    ]


def _result(space: str, kind: str, strategy: str, rows: Sequence[Sequence[bool]]) -> GroupResult:
    if not rows:
        return GroupResult(space, kind, strategy, 0, 0.0, 0.0, 0.0)
    return GroupResult(
        space,
        kind,
        strategy,
        len(rows),
        float(np.mean([any(r) for r in rows])),
        float(np.mean([np.mean(r) for r in rows])),
        float(np.mean([min(r) for r in rows])),
    )


def _cohesion(tastes: np.ndarray[Any, Any], groups: Sequence[Sequence[int]]) -> float:
    """The mean pairwise cosine of the members' taste vectors over `groups`."""
    values = [
        float(tastes[a] @ tastes[b]) for g in groups for i, a in enumerate(g) for b in g[i + 1 :]
    ]
    return float(np.mean(values)) if values else 0.0


def table(evaluation: GroupEvaluation, request: GroupRequest) -> str:
    """The results as a markdown table, with the thresholds and each kind's cohesion."""
    k = request.k
    lines = [
        f"| space | groups | strategy | n | group HR@{k} | mean member HR@{k} "
        f"| worst-member HR@{k} | held-out items another member saw |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in evaluation.results:
        name = f"{r.strategy} (baseline)" if r.strategy == BASELINE else r.strategy
        lines.append(
            f"| {r.space} | {r.kind} | {name} | {r.groups} | {r.group_hr:.4f} | {r.member_hr:.4f} "
            f"| {r.worst_hr:.4f} | {r.blocked:.3f} |"
        )
    notes = ", ".join(
        f"{kind}: cosine {'>=' if kind == 'similar' else '<='} "
        f"{evaluation.thresholds[kind]:.3f}, members' mean cosine "
        f"{evaluation.cohesion[kind]:.3f}"
        for kind in KINDS
    )
    took = f"{evaluation.seconds:.0f} s"
    return "\n".join(lines) + f"\n\n{request.dataset}, {request.model}; {notes}; took {took}."
