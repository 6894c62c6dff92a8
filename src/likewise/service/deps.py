"""Shared request helpers: the engine of the app, and JSON query parameters."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from likewise.engine import Engine
from likewise.errors import InvalidInput

__all__ = ["engine_of", "json_param"]


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def json_param(text: str | None, name: str) -> dict[str, Any] | None:
    """A query parameter holding a JSON object (`where`, `context`), or an error naming it."""
    if text is None or text == "":
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"not valid JSON: {exc.msg}", field=name) from None
    if not isinstance(value, dict):
        raise InvalidInput("must be a JSON object", field=name)
    return value
