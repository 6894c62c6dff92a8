"""/v1/search: items closest to a free text."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from likewise.service.auth import require_read
from likewise.service.deps import engine_of
from likewise.service.schemas import Hits, SearchIn

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["search"], dependencies=[Depends(require_read)])


@router.post("/search", response_model=Hits)
def search(request: Request, body: SearchIn) -> dict[str, Any]:
    """Embed the text with the store's model and return the closest items."""
    hits = engine_of(request).search(body.text, n=body.n, where=body.where, exclude=body.exclude)
    return {"items": [{"id": h.id, "score": h.score} for h in hits]}
