"""`Retry-After`, read the same way by every HTTP caller in likewise: the client of a likewise
server (`client/http.py`) and the remote embedder (`embedders/http.py`)."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

__all__ = ["retry_after"]


def retry_after(header: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (a number, or an HTTP date); None when
    absent or unreadable.

    Example:
        >>> retry_after("7"), retry_after("soon"), retry_after("-3")
        (7.0, None, 0.0)
    """
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))
