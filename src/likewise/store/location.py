"""Data locations as people write them: a directory, or a database URL."""

from __future__ import annotations

import re

__all__ = ["redact"]


def redact(location: str) -> str:
    """The location without a URL's password (for messages, logs and stats)."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", location)
