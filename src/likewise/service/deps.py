"""Shared request helpers: the engine of the app."""

from __future__ import annotations

from fastapi import Request

from likewise.engine import Engine

__all__ = ["engine_of"]


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine
