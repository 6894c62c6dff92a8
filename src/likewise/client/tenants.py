"""The tenants half of :class:`likewise.Client`: make, list and delete the tenants a server
hosts (with an admin key: one of the server's write keys), and talk to one of them
(`Client(url, tenant=NAME)`, which sends `X-Likewise-Tenant` with every request)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from likewise.client.wire import segment

if TYPE_CHECKING:
    from likewise.client.http import Transport

__all__ = ["TENANT_HEADER", "TenantCalls"]

TENANT_HEADER = "X-Likewise-Tenant"


class TenantCalls:
    """Tenants over HTTP. Mixed into the Client, which owns `transport`."""

    transport: Transport

    def create_tenant(
        self, name: str, *, settings: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Create tenant `name` (its own empty catalog) with its own values of some settings;
        returns `{"name", "settings", "keys": {"read", "events", "write"}}`. The keys are
        shown this once. Conflict if it exists."""
        body = {"name": name, "settings": dict(settings or {})}
        made: dict[str, Any] = self.transport.call(
            "POST", "/v1/tenants", body=body, idempotent=False
        )
        return made

    def tenants(self) -> list[dict[str, Any]]:
        """Every tenant: name, settings, created_at (never its keys)."""
        listed: list[dict[str, Any]] = self.transport.call("GET", "/v1/tenants", idempotent=True)[
            "tenants"
        ]
        return listed

    def delete_tenant(self, name: str) -> None:
        """Delete tenant `name` and all its data; NotFound if there is none."""
        self.transport.call("DELETE", f"/v1/tenants/{segment(name, 'name')}", idempotent=True)

    def _use_tenant(self, tenant: str | None) -> None:
        if tenant is not None:
            self.transport.http.headers[TENANT_HEADER] = tenant
