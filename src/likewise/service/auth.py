"""API keys: `Authorization: Bearer KEY`; a read role, an events role (read, and record events:
the key a web page may carry, except a user's history) and a write role (everything).

Keys are compared in constant time against every configured key, and never logged. With no
keys configured the API is open, which `likewise serve` allows on loopback only (tenants
included: their keys are then not asked for).

Tenants (`tenancy.py`): each tenant has keys of its own, which work on that tenant only (403
on any other, the default tenant included). Of the server's keys, the write keys are the
admin keys, which work on every tenant and alone manage tenants; the server's read and
events keys work on the default tenant only, as a page that publishes one must not reach
another tenant's catalog.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from typing import Literal

from fastapi import Request
from starlette.exceptions import HTTPException

from likewise.errors import InvalidInput
from likewise.service.tenancy import tenant_of

__all__ = [
    "Keys",
    "Role",
    "require_admin",
    "require_events",
    "require_private",
    "require_read",
    "require_write",
]

Role = Literal["read", "events", "private", "write"]
# `private`: a user's own history (profile, events) may be read with a read or a write key,
# not with an events key, which the pages publish.
RANK = {"read": 0, "events": 1, "private": 1, "write": 2}


class Keys:
    """The configured keys and the role each grants."""

    def __init__(
        self, read: Sequence[str], write: Sequence[str], events: Sequence[str] = ()
    ) -> None:
        roles: list[tuple[Sequence[str], Role]] = [
            (write, "write"),
            (events, "events"),
            (read, "read"),
        ]
        self._keys = [(k.encode(), role) for keys, role in roles for k in keys if k]

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def role_of(self, token: str) -> Role | None:
        given = token.encode()
        found: Role | None = None
        for key, role in self._keys:  # no early exit: every key is compared
            if hmac.compare_digest(key, given) and (found is None or RANK[role] > RANK[found]):
                found = role
        return found

    def require(self, role: Role) -> Callable[[Request], None]:
        """A dependency that lets a request through if its key grants `role`."""

        def check(request: Request) -> None:
            if not self.enabled:
                return
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise HTTPException(
                    401,
                    "send an API key: Authorization: Bearer KEY",
                    {"WWW-Authenticate": "Bearer"},
                )
            granted = self.role_of(token.strip())
            if granted is None:
                granted = _tenant_role(request, token.strip())
            elif granted != "write" and tenant_of(request.scope) is not None:
                raise HTTPException(
                    403,
                    "the server's read and events keys work on the default tenant only: use "
                    "the tenant's keys, or an admin (server write) key",
                )
            if role == "private" and granted == "events":
                raise HTTPException(
                    403,
                    "an events key (the one pages publish) may not read a user's history: "
                    "use a read or a write key",
                )
            if role != "private" and RANK[granted] < RANK[role]:
                allowed = {"read": "read", "events": "read and record events"}[granted]
                raise HTTPException(403, f"this key may {allowed}, not {role}")

        return check


def _tenant_role(request: Request, token: str) -> Role:
    """The role a tenant's key grants on this request's tenant: 401 if it is no tenant's
    key, 403 if it is another tenant's (or the request is for the default tenant)."""
    tenants = getattr(request.app.state, "tenants", None)
    owner = None if tenants is None else tenants.key_owner(token)
    if owner is None:
        raise HTTPException(401, "unknown API key", {"WWW-Authenticate": "Bearer"})
    tenant, role = owner
    if tenant != tenant_of(request.scope):
        raise HTTPException(
            403, f"this key belongs to tenant {tenant!r}: it works only at /v1/t/{tenant}/..."
        )
    granted: Role = role
    return granted


async def require_read(request: Request) -> None:
    """Dependency: the request's key may read (the app's `state.keys`). Async, so FastAPI
    runs it on the event loop rather than hopping to a worker thread for a few comparisons."""
    keys: Keys = request.app.state.keys
    keys.require("read")(request)


async def require_write(request: Request) -> None:
    """Dependency: the request's key may write."""
    keys: Keys = request.app.state.keys
    keys.require("write")(request)


async def require_events(request: Request) -> None:
    """Dependency: the request's key may record events (an events or a write key)."""
    keys: Keys = request.app.state.keys
    keys.require("events")(request)


async def require_private(request: Request) -> None:
    """Dependency: the request's key may read a user's history (a read or a write key)."""
    keys: Keys = request.app.state.keys
    keys.require("private")(request)


async def require_admin(request: Request) -> None:
    """Dependency: the request manages tenants, which only the server's write keys (the admin
    keys) may, and never from within a tenant."""
    if tenant_of(request.scope) is not None:
        raise InvalidInput("tenants are managed on the server, not within a tenant", field="tenant")
    keys: Keys = request.app.state.keys
    keys.require("write")(request)
