"""/v1/experiments: start, list, report and stop A/B experiments."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from likewise.service.auth import require_read, require_write
from likewise.service.deps import engine_of
from likewise.tracking.experiments import NAME, STRATEGIES

__all__ = ["reads", "writes"]

reads = APIRouter(
    prefix="/v1/experiments", tags=["experiments"], dependencies=[Depends(require_read)]
)
writes = APIRouter(
    prefix="/v1/experiments", tags=["experiments"], dependencies=[Depends(require_write)]
)


MAX_VARIANTS = 10
# What `parse_variant` and `parse_split` accept, as patterns a client (or a generator) can
# follow. `weights=` is accepted too but left out: a JSON object is no regular language.
NAME_PART = NAME.pattern.strip("^$")
DIVERSITY = r"(0(\.[0-9]{1,3})?|1(\.0{1,3})?)"
PLAIN = "|".join(s for s in STRATEGIES if s != "hybrid")  # diversity tunes the hybrid only
VARIANT = f"^{NAME_PART}:strategy=(({PLAIN})|hybrid(,diversity={DIVERSITY})?)$"
SHARE = r"[1-9][0-9]{0,5}(\.[0-9]{1,3})?"


def _one_share_per_variant(schema: dict[str, Any]) -> None:
    """`split` has as many shares as there are variants (a rule across two fields)."""
    schema["anyOf"] = [
        {
            "properties": {
                "variants": {"minItems": k, "maxItems": k},
                "split": {"pattern": f"^{SHARE}(/{SHARE}){{{k - 1}}}$"},
            }
        }
        for k in range(2, MAX_VARIANTS + 1)
    ]


class ExperimentIn(BaseModel):
    # A misspelt field is a 422 naming it, not an experiment started without it.
    model_config = ConfigDict(json_schema_extra=_one_share_per_variant, extra="forbid")

    # The patterns document what the parsers (tracking/experiments.py) check, and accept.
    name: str = Field(
        json_schema_extra={"pattern": NAME.pattern},
        description="1-40 lowercase letters, digits, '-' or '_'",
    )
    variants: list[Annotated[str, Field(json_schema_extra={"pattern": VARIANT})]] = Field(
        min_length=2,
        max_length=MAX_VARIANTS,
        description="NAME:strategy=S[,diversity=D][,weights=JSON], names all different, "
        "e.g. a:strategy=ema, b:strategy=hybrid,diversity=0.3",
        examples=[["a:strategy=ema", "b:strategy=hybrid,diversity=0.3"]],
    )
    split: str | None = Field(
        None,
        json_schema_extra={"pattern": f"^{SHARE}(/{SHARE})+$"},
        description="shares above 0, one per variant, e.g. 50/50 (default: equal)",
    )
    segment: str | None = Field(
        None,
        json_schema_extra={"pattern": NAME.pattern},
        description="only users in this segment take part (404 if there is none)",
    )


class StopIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # `{"promot": ...}` must not stop it unpromoted

    promote: str | None = Field(None, min_length=1, description="a variant to serve from now on")


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
    engine = engine_of(request)
    made = engine.create_experiment(
        body.name, body.variants, split=body.split, segment=body.segment
    )
    return made.as_dict()


@writes.post("/{name}/stop")
def stop(request: Request, name: str, body: StopIn | None = None) -> dict[str, Any]:
    """Stop an experiment; with `promote`, that variant's settings become the default."""
    promote = body.promote if body else None
    return engine_of(request).stop_experiment(name, promote=promote).as_dict()
