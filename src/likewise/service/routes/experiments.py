"""/v1/experiments: start, list, report and stop A/B experiments."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from likewise.service.auth import require_read, require_write
from likewise.service.deps import engine_of

__all__ = ["reads", "writes"]

reads = APIRouter(
    prefix="/v1/experiments", tags=["experiments"], dependencies=[Depends(require_read)]
)
writes = APIRouter(
    prefix="/v1/experiments", tags=["experiments"], dependencies=[Depends(require_write)]
)


class ExperimentIn(BaseModel):
    name: str = Field(description="1-40 lowercase letters, digits, '-' or '_'")
    variants: list[str] = Field(
        min_length=2,
        description="e.g. a:strategy=ema, b:strategy=hybrid,diversity=0.3",
        examples=[["a:strategy=ema", "b:strategy=hybrid,diversity=0.3"]],
    )
    split: str | None = Field(None, description="shares, e.g. 50/50 (default: equal)")


class StopIn(BaseModel):
    promote: str | None = Field(None, description="a variant to serve from now on")


@reads.get("")
def list_all(request: Request) -> list[dict[str, Any]]:
    """Every experiment, running or stopped, with its variants and shares."""
    return [e.as_dict() for e in engine_of(request).list_experiments()]


@reads.get("/{name}")
def report(request: Request, name: str) -> dict[str, Any]:
    """Per variant: lists shown, clicks, CTR with its 95% interval, conversions; each variant
    against the first by a two-proportion z-test (`significant` below p = 0.05)."""
    return engine_of(request).experiment_report(name)


@writes.post("", status_code=201)
def create(request: Request, body: ExperimentIn) -> dict[str, Any]:
    """Start an experiment; users are bucketed by id, one experiment runs at a time (409)."""
    return (
        engine_of(request).create_experiment(body.name, body.variants, split=body.split).as_dict()
    )


@writes.post("/{name}/stop")
def stop(request: Request, name: str, body: StopIn | None = None) -> dict[str, Any]:
    """Stop an experiment; with `promote`, that variant's settings become the default."""
    promote = body.promote if body else None
    return engine_of(request).stop_experiment(name, promote=promote).as_dict()
