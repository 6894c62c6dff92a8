"""A hand-made event log whose retention and engagement answers are known (the days are
chosen so day-1/7/30 and "within N days" disagree), shared by the retention tests."""

from __future__ import annotations

from typing import Any

from likewise import Engine
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


def rates(row: dict[str, Any]) -> dict[int, tuple[int, int, float | None]]:
    """Day N -> (eligible, returned, rate) of a report row as a dict."""
    return {r["day"]: (r["eligible"], r["returned"], r["rate"]) for r in row["returns"]}
