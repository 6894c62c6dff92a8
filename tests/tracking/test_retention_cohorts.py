"""Retention cohorts and engagement time on a hand-made log whose answers are known, on the
embedded store and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from likewise import Engine
from likewise.errors import InvalidInput
from likewise.tracking import Impression
from likewise.tracking.retention import DAY

D0 = 1_767_571_200.0  # 2026-01-05 00:00 UTC, a Monday
UNTIL = D0 + 40 * DAY + 12 * 3600  # the report's time: noon of day 40
H = 3600.0
RID = {k: f"{k:032x}" for k in range(1, 6)}  # recommendation ids are 32 hex digits

# (user, seconds after D0) of every event; day N of a user counts from their first UTC day.
LOG = [
    ("a1", 10 * H), ("a1", DAY + H), ("a1", 7 * DAY + H),  # day 1 and day 7
    ("a2", 10 * H), ("a2", 2 * DAY - 60), ("a2", 30 * DAY),  # day 1 (37 h later) and day 30
    ("a3", 10 * H), ("a3", 23 * H), ("a3", 2 * DAY),  # the same day, then day 2: none
    ("a4", 10 * H), ("a4", 8 * DAY),  # day 8: "within 7 days" would count it, day 7 does not
    ("b1", 2 * DAY + H), ("b1", 3 * DAY + H),  # Wednesday of the same week; day 1
    ("c1", 37 * DAY + H), ("c1", 38 * DAY + H),  # three days before the report: day 1 only
    ("d1", 40 * DAY + H),  # first seen on the report's day: too young for anything
    ("e1", 41 * DAY),  # after the report's time: not read
]  # fmt: skip


def rates(row: dict[str, Any]) -> dict[int, tuple[int, int, float | None]]:
    return {r["day"]: (r["eligible"], r["returned"], r["rate"]) for r in row["returns"]}


def load(engine: Engine) -> None:
    engine.add_items([{"id": "x1", "title": "one"}, {"id": "x2", "title": "two"}])
    engine.record_many(
        [{"user_id": u, "item_id": "x1", "type": "view", "timestamp": D0 + t} for u, t in LOG]
    )
    shown = [  # (id, user, strategy, seconds after D0); a1 saw `popular` first
        (RID[1], "a1", "popular", 10 * H),
        (RID[2], "a2", "popular", 10 * H),
        (RID[3], "a3", "exp:b", 10 * H),
        (RID[4], "a1", "exp:b", DAY + H),
        (RID[5], "c1", "popular", 37 * DAY + H),
    ]
    engine.store.log_impressions([Impression(i, u, s, ["x1"], at=D0 + t) for i, u, s, t in shown])
    dwell = [("a1", RID[1], 40.0), ("a1", RID[1], 20.0), ("a2", RID[2], 30.0)]
    engine.record_many(
        [
            {"user_id": u, "item_id": "x2", "type": "dwell", "value": v,
             "recommendation_id": rid, "timestamp": D0 + 11 * H}
            for u, rid, v in dwell
        ]
    )  # fmt: skip


@pytest.fixture
def logged(location: str) -> Iterator[Engine]:
    engine = Engine.open(location, model="hashing-64")
    load(engine)
    yield engine
    engine.close()


def test_cohorts_by_day_and_week_and_engagement(logged: Engine) -> None:
    days = [r.as_dict() for r in logged.retention_report(until=UNTIL)]
    by_day = {r["cohort"]: r for r in days}
    assert list(by_day) == ["2026-01-05", "2026-01-07", "2026-02-11", "2026-02-14"]
    assert by_day["2026-01-05"]["users"] == 4
    assert rates(by_day["2026-01-05"]) == {1: (4, 2, 0.5), 7: (4, 1, 0.25), 30: (4, 1, 0.25)}
    assert rates(by_day["2026-01-07"]) == {1: (1, 1, 1.0), 7: (1, 0, 0.0), 30: (1, 0, 0.0)}
    young = by_day["2026-02-11"]["returns"]  # day 1 ended, days 7 and 30 not yet
    assert [(r["day"], r["rate"]) for r in young] == [(1, 1.0), (7, None), (30, None)]
    assert young[1]["ci95"] is None and young[0]["ci95"] == [pytest.approx(0.2065, abs=1e-3), 1.0]
    assert rates(by_day["2026-02-14"]) == {1: (0, 0, None), 7: (0, 0, None), 30: (0, 0, None)}

    weeks = {r.cohort: r.as_dict() for r in logged.retention_report(by="week", until=UNTIL)}
    assert list(weeks) == ["2026-01-05", "2026-02-09"]  # both Mondays
    assert weeks["2026-01-05"]["users"] == 5
    assert rates(weeks["2026-01-05"]) == {1: (5, 3, 0.6), 7: (5, 1, 0.2), 30: (5, 1, 0.2)}
    # c1's day 1 has ended, d1's has not: the week's day 1 counts c1 alone
    assert rates(weeks["2026-02-09"]) == {1: (1, 1, 1.0), 7: (0, 0, None), 30: (0, 0, None)}

    later = logged.retention_report(since=D0 + 2 * DAY + 5 * H, until=UNTIL, days=[2, 1])
    assert [r.cohort for r in later] == ["2026-01-07", "2026-02-11", "2026-02-14"]
    assert [r.day for r in later[0].returns] == [1, 2]  # sorted

    rows = {r.group: r.as_dict() for r in logged.engagement_report(until=UNTIL)}
    assert set(rows) == {"popular", "exp:b"}
    popular = rows["popular"]
    assert (popular["impressions"], popular["users"], popular["dwell_events"]) == (3, 3, 3)
    assert popular["dwell_seconds"] == 90.0 and popular["dwell_per_user"] == 30.0
    assert popular["mean_dwell"] == 30.0 and popular["first_shown"] == 3  # a1, a2, c1
    assert rates(popular) == {1: (3, 3, 1.0), 7: (2, 1, 0.5), 30: (2, 1, 0.5)}
    variant = rows["exp:b"]
    assert (variant["impressions"], variant["users"], variant["dwell_seconds"]) == (2, 2, 0.0)
    assert variant["mean_dwell"] is None and variant["first_shown"] == 1  # a3
    assert rates(variant) == {1: (1, 0, 0.0), 7: (1, 0, 0.0), 30: (1, 0, 0.0)}
    only = logged.engagement_report(group_by="variant", until=UNTIL)
    assert [r.group for r in only] == ["exp:b"]
    # lists shown from day 1 on: i4 and i5 (and nobody first shown a list since then but c1)
    since = {r.group: r for r in logged.engagement_report(since=D0 + DAY, until=UNTIL)}
    assert since["exp:b"].impressions == 1 and since["exp:b"].first_shown == 0
    assert since["popular"].impressions == 1 and since["popular"].first_shown == 1


@pytest.mark.parametrize(
    ("call", "field"),
    [
        pytest.param({"by": "month"}, "by", id="by"),
        pytest.param({"days": []}, "days", id="no-days"),
        pytest.param({"days": [0]}, "days", id="day-zero"),
        pytest.param({"days": [1, 1]}, "days", id="repeated"),
        pytest.param({"days": [1.5]}, "days", id="fraction"),
        pytest.param({"days": "1,7"}, "days", id="string"),
        pytest.param({"since": float("nan")}, "since", id="since-nan"),
        pytest.param({"until": 0.0, "since": 10.0}, "until", id="until-before"),
        pytest.param({"group_by": "day"}, "group_by", id="group-by"),
    ],
)
def test_bad_parameters_are_refused_by_field(
    engine: Engine, call: dict[str, Any], field: str
) -> None:
    method = engine.engagement_report if "group_by" in call else engine.retention_report
    with pytest.raises(InvalidInput) as refused:
        method(**call)
    assert refused.value.field == field
