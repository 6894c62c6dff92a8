"""Context rules: boost or filter items by the request's context (device, locale, time of day).

A rule applies when every key of its `when` equals the request context's value (a list in
`when` means any of them). It may `filter` (a `where` every item must pass) and/or `boost`
(items matching that `where` gain `weight` on the blended score). `daypart` and `weekday` are
filled in from the clock (UTC) when the request does not give them.

`{"when": {"segment": "premium"}}` targets a segment of users: the engine puts the segments
the user is in (a list, from their properties) in the context as `segment`, in place of any
the request gave, and the rule applies when one of them is wanted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from likewise.errors import ConfigError, InvalidInput
from likewise.filters import parse_where

__all__ = [
    "SEGMENT",
    "ContextRule",
    "applied",
    "daypart",
    "parse_rules",
    "targets_segment",
    "with_clock",
]

SEGMENT = "segment"  # the context key that holds the user's segments (a list)


@dataclass(frozen=True)
class ContextRule:
    when: Mapping[str, Any]
    boost: Mapping[str, Any] | None = None
    weight: float = 0.0
    filter: Mapping[str, Any] | None = None

    def applies(self, context: Mapping[str, Any]) -> bool:
        for key, wanted in self.when.items():
            value = context.get(key)
            if key == SEGMENT:  # the user's segments: one of them is wanted
                have = value if isinstance(value, list) else []
                if not any(w in have for w in (wanted if isinstance(wanted, list) else [wanted])):
                    return False
                continue
            if isinstance(wanted, list) and value not in wanted:
                return False
            if not isinstance(wanted, list) and value != wanted:
                return False
        return True


def parse_rules(raw: Sequence[Mapping[str, Any]]) -> list[ContextRule]:
    """Rules from settings; a bad one is a ConfigError naming its position and field."""
    rules = []
    for k, item in enumerate(raw):
        unknown = set(item) - {"when", "boost", "weight", "filter"}
        if unknown or not isinstance(item.get("when"), Mapping):
            what = f"unknown keys {sorted(unknown)}" if unknown else "'when' must be an object"
            raise ConfigError(f"context_rules[{k}]: {what}")
        segment = item["when"].get(SEGMENT)
        names = segment if isinstance(segment, list) else [segment]
        if segment is not None and not all(isinstance(n, str) and n for n in names):
            raise ConfigError(f"context_rules[{k}].when.segment: must be a segment name or a list")
        for name in ("boost", "filter"):
            if item.get(name) is not None:
                try:
                    parse_where(item[name])
                except InvalidInput as exc:
                    raise ConfigError(f"context_rules[{k}].{name}: {exc}") from None
        weight = item.get("weight", 0.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ConfigError(f"context_rules[{k}].weight must be a number")
        rules.append(
            ContextRule(item["when"], item.get("boost"), float(weight), item.get("filter"))
        )
    return rules


def applied(
    rules: Sequence[ContextRule], context: Mapping[str, Any] | None, where: Mapping[str, Any] | None
) -> tuple[Mapping[str, Any] | None, list[tuple[Mapping[str, Any], float]]]:
    """`where` with the filters of the `rules` that apply to `context` (with the clock's
    `daypart` and `weekday`), and their boosts as (where, weight). No rules: no clock read."""
    if not rules:
        return where, []
    clocked = with_clock(context or {})
    active = [r for r in rules if r.applies(clocked)]
    for rule in active:
        if rule.filter is not None:
            where = {"$and": [where, rule.filter]} if where else rule.filter
    boosts = [(r.boost, r.weight) for r in active if r.boost is not None and r.weight]
    return where, boosts


def targets_segment(rules: Sequence[ContextRule]) -> bool:
    """Whether any rule names a segment (only then is the user's membership read)."""
    return any(SEGMENT in rule.when for rule in rules)


def daypart(hour: int) -> str:
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 17:
        return "afternoon"
    if 17 <= hour < 22:
        return "evening"
    return "night"


def with_clock(context: Mapping[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """The context with `daypart` and `weekday` (mon..sun) added unless given."""
    now = now or datetime.now(UTC)
    out = dict(context)
    out.setdefault("daypart", daypart(now.hour))
    out.setdefault("weekday", ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[now.weekday()])
    return out
