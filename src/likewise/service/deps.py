"""Shared request helpers: the engine of the app, and a stopwatch."""

from __future__ import annotations

import time

from fastapi import Request

from likewise.engine import Engine

__all__ = ["engine_of", "since_ms"]


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def since_ms(started: float) -> float:
    """Milliseconds since `started`, a `time.perf_counter()` reading."""
    return (time.perf_counter() - started) * 1000.0
