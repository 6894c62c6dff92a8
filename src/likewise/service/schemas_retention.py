"""Wire schemas of the retention and engagement reports (definitions in
`likewise.tracking.retention`)."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["EngagementReport", "RetentionReport"]


class DayReturns(BaseModel):
    day: int = Field(description="N: the UTC day N days after the one the user was first seen")
    eligible: int = Field(description="members whose day N ended before the report's time")
    returned: int = Field(description="eligible members with an event on day N")
    rate: float | None = Field(description="returned / eligible; null while no day N has ended")
    ci95: list[float] | None = Field(description="95% Wilson interval of the rate")


class Cohort(BaseModel):
    cohort: str = Field(description="UTC day first seen, YYYY-MM-DD (by week: its Monday)")
    users: int
    returns: list[DayReturns]


class RetentionReport(BaseModel):
    by: str
    since: float
    until: float
    days: list[int]
    rows: list[Cohort]


class EngagementRow(BaseModel):
    group: str = Field(description="a strategy, or EXPERIMENT:VARIANT")
    impressions: int
    users: int = Field(description="distinct users shown these lists")
    dwell_events: int = Field(description="dwell events attributed to these lists")
    dwell_seconds: float
    dwell_per_user: float | None
    mean_dwell: float | None = Field(description="seconds per dwell event")
    first_shown: int = Field(description="users whose first list shown was of this group")
    returns: list[DayReturns] = Field(description="day-N returns of the first_shown users")


class EngagementReport(BaseModel):
    group_by: str
    since: float
    until: float
    days: list[int]
    rows: list[EngagementRow]
