"""/v1/tenants: create, list and delete the tenants this server hosts (admin keys only).

A tenant's own routes are every other route under `/v1/t/{tenant}/` (or with the header
`X-Likewise-Tenant`); see `service/tenancy.py`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from likewise.engine.tenants import NAME, Tenants, knob_schemas
from likewise.service.auth import require_admin
from likewise.service.openapi import EXAMPLES, SUMMARIES

__all__ = ["router"]

router = APIRouter(prefix="/v1/tenants", tags=["tenants"], dependencies=[Depends(require_admin)])


TenantName = Path(pattern=f"^{NAME.pattern}$", description="the tenant's name")


class TenantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt `settings` makes no tenant

    name: str = Field(
        json_schema_extra={"pattern": f"^{NAME.pattern}$"},
        description="1-34 of a-z, 0-9, '_' and '-', starting with a letter or digit",
        examples=["acme"],
    )
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="the tenant's own values of these knobs (see the settings reference); "
        "the others are the server's",
        json_schema_extra={"additionalProperties": False, "properties": knob_schemas()},
    )


# The document's summaries and examples of these operations (`openapi.py` reads them).
SUMMARIES |= {
    "create_tenant": "Create a tenant and its keys",
    "list_tenants": "List tenants",
    "delete_tenant": "Delete a tenant and all its data",
}
EXAMPLES["create_tenant"] = {
    "application/json": {"tenant": {"name": "acme", "settings": {"strategy": "ema"}}}
}


def _tenants(request: Request) -> Tenants:
    tenants: Tenants = request.app.state.tenants
    return tenants


@router.post("", status_code=201)
def create_tenant(request: Request, body: TenantIn) -> dict[str, Any]:
    """Create a tenant: an empty catalog of its own, and its keys (one read, one events, one
    write key), returned this once: only their digests are kept."""
    return _tenants(request).create(body.name, body.settings)


@router.get("")
def list_tenants(request: Request) -> dict[str, Any]:
    """Every tenant, with its settings and when it was created (never its keys)."""
    return {"tenants": _tenants(request).describe()}


@router.delete("/{name}", status_code=204)
def delete_tenant(request: Request, name: Annotated[str, TenantName]) -> Response:
    """Delete a tenant: its engine closed, its store and all its data removed."""
    _tenants(request).delete(name)
    return Response(status_code=204)
