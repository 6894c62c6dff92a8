"""Retention cohorts and engagement time on a hand-made log whose answers are known, on the
embedded store and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.tracking.retention_log import D0, UNTIL, H, load, rates

from likewise import Engine
from likewise.errors import InvalidInput
from likewise.tracking.retention import DAY


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

    # bounds past the years events can have mean the ends of that range; an empty window, none
    assert logged.retention_report(since=-1e300, until=UNTIL) == logged.retention_report(
        until=UNTIL
    )
    assert len(logged.retention_report(until=1e300)) == 5  # e1 comes in as a cohort of its own
    assert logged.retention_report(since=UNTIL, until=D0) == []
    assert logged.engagement_report(since=UNTIL, until=D0) == []

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
        pytest.param({"until": float("inf")}, "until", id="until-inf"),
        pytest.param({"until": "2026-01-01"}, "until", id="until-text"),
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
