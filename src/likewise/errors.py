"""The one exception tree of likewise.

Every error the library raises on purpose is a :class:`LikewiseError`; the CLI turns it into a
one-line message and exit code 2, the service into an HTTP status with a JSON body.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "Conflict",
    "EmbedderError",
    "InvalidInput",
    "LikewiseError",
    "NotFound",
    "StoreError",
    "StoreUnavailable",
]


class LikewiseError(Exception):
    """Base class of every error likewise raises on purpose."""


class ConfigError(LikewiseError):
    """A setting, a location or a model choice that cannot work."""


class NotFound(LikewiseError):
    """An item (or other record) that does not exist."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class InvalidInput(LikewiseError):
    """Input that fails validation; `field` names what is wrong, `line` where (files)."""

    def __init__(self, message: str, *, field: str | None = None, line: int | None = None) -> None:
        where = []
        if line is not None:
            where.append(f"line {line}")
        if field:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.reason = message
        self.field = field
        self.line = line


class Conflict(InvalidInput):
    """Valid input that clashes with what is stored (e.g. onboarding a user with a history)."""


class EmbedderError(LikewiseError):
    """The embedding model could not be loaded or run."""


class StoreError(LikewiseError):
    """The store is unusable: corrupt, locked, or from an incompatible version."""


class StoreUnavailable(StoreError):
    """The store cannot be reached right now (a lost database, a locked file, a full pool);
    the same call may succeed later. The service answers 503 with `Retry-After`."""

    retry_after = 1  # seconds a client should wait before trying again
