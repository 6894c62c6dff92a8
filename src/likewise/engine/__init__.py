"""The Engine: the one facade the CLI, the service and applications call."""

from likewise.engine.checks import MAX_N, VECTOR_BOUND
from likewise.engine.core import Engine, IngestReport

__all__ = ["MAX_N", "VECTOR_BOUND", "Engine", "IngestReport"]
