"""The one exception tree of likewise.

Every error the library raises on purpose is a :class:`LikewiseError`; the CLI turns it into a
one-line message and an exit code by its class (`cli/main.py`: 2 invalid input or settings, 3
not found, 1 any other fault), the service into an HTTP status with a JSON body.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ConfigError",
    "Conflict",
    "EmbedderError",
    "IngestStopped",
    "InvalidInput",
    "LikewiseError",
    "NotFound",
    "StoreError",
    "StoreFull",
    "StoreUnavailable",
    "Unauthorized",
]


class LikewiseError(Exception):
    """Base class of every error likewise raises on purpose. `code` is its machine-readable
    name; :meth:`as_dict` is the one error shape of HTTP, the CLI's `--json` and clients."""

    code = "error"

    @property
    def message(self) -> str:
        return str(self)

    def as_dict(self) -> dict[str, dict[str, str | None]]:
        """`{"error": {"code", "message", "field"}}`: the same everywhere."""
        field = getattr(self, "field", None)
        return {"error": {"code": self.code, "message": self.message, "field": field}}


class ConfigError(LikewiseError):
    """A setting, a location or a model choice that cannot work; `field` names the setting
    when one value is at fault (`alpha`)."""

    code = "config"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(LikewiseError):
    """An item (or other record) that does not exist; `field` names where a request referred
    to it (`events[3].item_id`, `positive[0]`), when one did."""

    code = "not_found"

    def __init__(self, kind: str, key: str, *, field: str | None = None) -> None:
        self.reason = f"{kind} {key!r} not found"
        super().__init__(f"field {field!r}: {self.reason}" if field else self.reason)
        self.kind = kind
        self.key = key
        self.field = field

    @property
    def message(self) -> str:
        """The reason alone (the field travels beside it)."""
        return self.reason


class InvalidInput(LikewiseError):
    """Input that fails validation; `field` names what is wrong, `line` where (files)."""

    code = "invalid_input"

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

    @property
    def message(self) -> str:
        """The reason, after the line when there is one (the field travels beside it)."""
        return self.reason if self.line is None else f"line {self.line}: {self.reason}"


class Conflict(InvalidInput):
    """Valid input that clashes with what is stored (e.g. onboarding a user with a history)."""

    code = "conflict"


class EmbedderError(LikewiseError):
    """The embedding model could not be loaded or run."""

    code = "embedder_unavailable"


class IngestStopped(EmbedderError):
    """Embedding failed partway through an ingest. The batches written before stay (each was
    one durable write); none of `missing` was written. Running the same ingest again
    continues: the written items' content hashes match, so only `missing` are embedded."""

    SHOWN = 5  # ids the message names

    def __init__(self, cause: EmbedderError, missing: Sequence[str], written: int) -> None:
        self.missing = list(missing)
        self.written = written
        first = ", ".join(repr(i) for i in self.missing[: self.SHOWN])
        more = ", ..." if len(self.missing) > self.SHOWN else ""
        super().__init__(
            f"{cause}; {len(self.missing)} items not written ({first}{more}), "
            f"{written} written before stay; run the same ingest again to continue"
        )


class StoreError(LikewiseError):
    """The store is unusable: corrupt, locked, or from an incompatible version."""

    code = "store_error"


class StoreUnavailable(StoreError):
    """The store cannot be reached right now (a lost database, a locked file, a full pool);
    the same call may succeed later. The service answers 503 with `Retry-After`."""

    code = "store_unavailable"
    retry_after = 1  # seconds a client should wait before trying again


class StoreFull(StoreUnavailable):
    """The disk under the store is full. Nothing of the write was kept (its transaction was
    rolled back), so the same call succeeds once space is freed: it is unavailable, not
    broken, and the service answers 503 with this code. Freeing space takes a person, not a
    second, hence the longer `Retry-After`."""

    code = "store_full"
    retry_after = 30


class Unauthorized(LikewiseError):
    """The server refused the request's API key: none sent, unknown (HTTP 401), or one whose
    role may not do this (403). Raised by :class:`likewise.Client`; `status` is the HTTP one."""

    code = "unauthorized"

    def __init__(self, message: str, *, status: int = 401) -> None:
        super().__init__(message)
        self.status = status
