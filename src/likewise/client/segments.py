"""The properties and segments half of :class:`likewise.Client`, as
:class:`likewise.engine.segments.Segments` is the Engine's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from likewise.client.wire import segment

if TYPE_CHECKING:
    from likewise.client.http import Transport

__all__ = ["SegmentCalls"]


class SegmentCalls:
    """Users' properties and segments over HTTP. Mixed into the Client, which owns
    `transport`."""

    transport: Transport

    def set_user_properties(
        self, user_id: str, properties: Mapping[str, Any], *, replace: bool = False
    ) -> dict[str, Any]:
        """As :meth:`Engine.set_user_properties` (`PUT /v1/users/{id}/properties`)."""
        path = f"/v1/users/{segment(user_id, 'user_id')}/properties"
        params = {"replace": True} if replace else None
        # A merge is not idempotent in general (a null removes a key a later call set), but
        # resending the same body gives the same properties: safe to retry.
        found = self.transport.call(
            "PUT", path, params=params, body=dict(properties), idempotent=True
        )
        props: dict[str, Any] = found["properties"]
        return props

    def user_properties(self, user_id: str) -> dict[str, Any]:
        """As :meth:`Engine.user_properties` (`GET /v1/users/{id}/properties`)."""
        path = f"/v1/users/{segment(user_id, 'user_id')}/properties"
        props: dict[str, Any] = self.transport.call("GET", path, idempotent=True)["properties"]
        return props

    def user_segments(self, user_id: str) -> list[str]:
        """As :meth:`Engine.user_segments` (`GET /v1/users/{id}/segments`)."""
        path = f"/v1/users/{segment(user_id, 'user_id')}/segments"
        return [str(s) for s in self.transport.call("GET", path, idempotent=True)["segments"]]

    def create_segment(self, name: str, where: Mapping[str, Any]) -> dict[str, Any]:
        """As :meth:`Engine.create_segment` (`PUT /v1/segments/{name}`)."""
        path = f"/v1/segments/{segment(name, 'name')}"
        found: dict[str, Any] = self.transport.call(
            "PUT", path, body={"where": where}, idempotent=True
        )
        return found

    def list_segments(self) -> list[dict[str, Any]]:
        """As :meth:`Engine.list_segments` (`GET /v1/segments`)."""
        found: list[dict[str, Any]] = self.transport.call("GET", "/v1/segments", idempotent=True)[
            "segments"
        ]
        return found

    def delete_segment(self, name: str) -> None:
        """As :meth:`Engine.delete_segment` (`DELETE /v1/segments/{name}`)."""
        path = f"/v1/segments/{segment(name, 'name')}"
        self.transport.call("DELETE", path, idempotent=False)
