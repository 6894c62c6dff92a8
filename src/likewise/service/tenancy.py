"""Which tenant a request is for: the path prefix `/v1/t/{tenant}/...` or the header
`X-Likewise-Tenant`. No prefix and no header: the default tenant, the server's own store.

Plain ASGI middleware that rewrites `/v1/t/{tenant}/rest` to `/v1/rest` and records the
tenant in the scope, so every route serves every tenant unchanged (`deps.engine_of` returns
the tenant's engine; `auth` checks its keys) and the metrics and access log label the
request with the route's template, never the tenant's name (no label per tenant).
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from likewise.engine.tenants import check_tenant
from likewise.errors import InvalidInput, NotFound
from likewise.service.errors import error_response

__all__ = ["HEADER", "PREFIX", "TENANT", "Tenancy", "tenant_of"]

TENANT = "likewise.tenant"  # the scope's key: the tenant's name, absent for the default
HEADER = b"x-likewise-tenant"
PREFIX = "/v1/t/"


def tenant_of(scope: Scope) -> str | None:
    """The tenant a request is for (None: the default tenant)."""
    name: str | None = scope.get(TENANT)
    return name


class Tenancy:
    """Resolve the tenant of each request; 422 naming `tenant` for a malformed name (or a
    path and a header that disagree), 404 naming it for one that does not exist."""

    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state  # the app's state: its `tenants` registry is made at startup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        name: str | None = None
        if path.startswith(PREFIX):
            name, _, rest = path[len(PREFIX) :].partition("/")
            raw = b"/v1/" + scope.get("raw_path", path.encode()).split(b"/", 4)[-1]
            scope = {**scope, "path": f"/v1/{rest}", "raw_path": raw if rest else b"/v1/"}
        given = [v.decode("latin-1") for k, v in scope["headers"] if k == HEADER]
        try:
            if given:
                if len(given) > 1 or (name is not None and given[0] != name):
                    raise InvalidInput(
                        "give one tenant: the path and the X-Likewise-Tenant header differ",
                        field="tenant",
                    )
                name = given[0]
            if name is None:
                await self.app(scope, receive, send)
                return
            check_tenant(name)
            tenants = getattr(self.state, "tenants", None)
            if tenants is None or not tenants.known(name):
                raise NotFound("tenant", name, field="tenant")
        except (InvalidInput, NotFound) as exc:
            status = 404 if isinstance(exc, NotFound) else 422
            await error_response(status, exc.code, exc.message, "tenant")(scope, receive, send)
            return
        await self.app({**scope, TENANT: name}, receive, send)
