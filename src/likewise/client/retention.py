"""The returning-users half of :class:`likewise.Client`, as
:class:`likewise.engine.retention.Retention` is the Engine's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from likewise.client.wire import query
from likewise.tracking.retention import DAYS, CohortRow, EngagementRow, check_days, window

if TYPE_CHECKING:
    from likewise.client.http import Transport

__all__ = ["RetentionCalls"]


class RetentionCalls:
    """`GET /v1/reports/retention` and `/v1/reports/engagement`, with the Engine's arguments
    checked here as the Engine checks them (the same error, named by the same field)."""

    transport: Transport

    def retention_report(
        self,
        *,
        by: str = "day",
        since: float = 0.0,
        until: float | None = None,
        days: Sequence[int] = DAYS,
    ) -> list[CohortRow]:
        """As :meth:`Engine.retention_report` (`GET /v1/reports/retention`)."""
        body = self._report("retention", since, until, days, by=by)
        return [CohortRow.from_dict(r) for r in body["rows"]]

    def engagement_report(
        self,
        *,
        group_by: str = "strategy",
        since: float = 0.0,
        until: float | None = None,
        days: Sequence[int] = DAYS,
    ) -> list[EngagementRow]:
        """As :meth:`Engine.engagement_report` (`GET /v1/reports/engagement`)."""
        body = self._report("engagement", since, until, days, group_by=group_by)
        return [EngagementRow.from_dict(r) for r in body["rows"]]

    def _report(
        self, name: str, since: float, until: float | None, days: Sequence[int], **by: str
    ) -> Any:
        window(since, until)
        params: dict[str, Any] = {**query(since=since or None, until=until), **by}
        params["days"] = [str(n) for n in check_days(days)]
        return self.transport.call("GET", f"/v1/reports/{name}", params=params, idempotent=True)
