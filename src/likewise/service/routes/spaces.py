"""/v1/spaces: the vector spaces of the store, and declaring one for vectors of your own."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from likewise.service.auth import require_read, require_write
from likewise.service.deps import engine_of
from likewise.service.schemas import SpaceIn, SpaceOut, Spaces

__all__ = ["SPACE_NAME", "router"]

router = APIRouter(prefix="/v1/spaces", tags=["spaces"], dependencies=[Depends(require_read)])

SPACE_NAME = r"^[a-z][a-z0-9_]{0,31}$"  # as the stores name their tables


def _out(space: Any) -> dict[str, Any]:  # a store's Space, which the service does not import
    return {"name": space.name, "dim": space.dim, "metric": space.metric}


@router.get("", response_model=Spaces)
def list_spaces(request: Request) -> dict[str, Any]:
    """Every vector space: `text` (the store's model's) first, then those declared."""
    return {"spaces": [_out(s) for s in engine_of(request).spaces().values()]}


@router.put(
    "/{space}",
    response_model=SpaceOut,
    dependencies=[Depends(require_write)],
    responses={201: {"model": SpaceOut, "description": "created"}},
)
def put_space(
    request: Request,
    response: Response,
    space: Annotated[
        str,
        Path(
            pattern=SPACE_NAME,
            description="1-32 of a-z, 0-9 and _, starting with a letter",
        ),
    ],
    body: SpaceIn,
) -> dict[str, Any]:
    """Declare a space for vectors of your own, which items then carry in `vectors`. The
    same declaration again is a no-op (200); one that differs from the stored space is a
    409, as is any but the model's own for `text`."""
    engine = engine_of(request)
    existed = space in engine.spaces()
    made = engine.add_space(space, body.dim, metric=body.metric)
    response.status_code = 200 if existed else 201
    return _out(made)
