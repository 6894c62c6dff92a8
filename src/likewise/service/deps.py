"""Shared request helpers: the engine of the app, and JSON query parameters."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from likewise.engine import Engine
from likewise.items.loaders import json_object

__all__ = ["engine_of", "json_param"]


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def json_param(text: str | None, name: str) -> dict[str, Any] | None:
    """A query parameter holding a JSON object (`where`, `context`), or an error naming it."""
    return json_object(text, name)
