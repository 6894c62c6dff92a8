"""The server's JSON error body back into the exception the embedded Engine raises.

The service answers every failure as `{"error": {"code", "message", "field"}}` with a status
(`service/errors.py`). The body's `code` names the class (each `LikewiseError` has one); the
status decides when the code is one this client does not know, so a server that moves a case
from one status to another (422 to 404, say) still raises the class its code names.
"""

from __future__ import annotations

import ast
import contextlib
import re
from typing import Any

from likewise.errors import (
    ConfigError,
    Conflict,
    EmbedderError,
    InvalidInput,
    LikewiseError,
    NotFound,
    StoreError,
    StoreFull,
    StoreUnavailable,
    Unauthorized,
)

__all__ = ["error_from"]

BY_CODE: dict[str, type[LikewiseError]] = {
    kind.code: kind
    for kind in (
        ConfigError,
        Conflict,
        EmbedderError,
        InvalidInput,
        NotFound,
        StoreError,
        StoreFull,
        StoreUnavailable,
        Unauthorized,
    )
}
BY_CODE["forbidden"] = Unauthorized  # 403: a key whose role may not do this
BY_STATUS: dict[int, type[LikewiseError]] = {
    400: InvalidInput,  # bad JSON
    401: Unauthorized,
    403: Unauthorized,
    404: NotFound,
    409: Conflict,
    413: InvalidInput,  # a body over max_body_bytes
    415: InvalidInput,
    422: InvalidInput,
    429: StoreUnavailable,  # try again later, as a 503
    503: StoreUnavailable,
}
_NOT_FOUND = re.compile(r"^(?P<kind>.+?) (?P<key>'.*'|\".*\") not found$", re.DOTALL)
_LINE = re.compile(r"^line (?P<line>\d+): (?P<reason>.*)$", re.DOTALL)


def error_from(status: int, body: Any, url: str) -> LikewiseError:
    """The exception for an error response: by the body's code, else by the status."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return _by_status(status, f"HTTP {status} from {url}", None)
    code, message, field = error.get("code"), error.get("message"), error.get("field")
    message = message if isinstance(message, str) else f"HTTP {status} from {url}"
    field = field if isinstance(field, str) else None
    kind = BY_CODE.get(code) if isinstance(code, str) else None
    if kind is None:
        return _by_status(status, message, field)
    return _build(kind, status, message, field)


def _by_status(status: int, message: str, field: str | None) -> LikewiseError:
    kind = BY_STATUS.get(status, LikewiseError)
    return _build(kind, status, message, field)


def _build(
    kind: type[LikewiseError], status: int, message: str, field: str | None
) -> LikewiseError:
    """An instance of `kind` whose message and field are the server's."""
    if issubclass(kind, InvalidInput):  # Conflict too
        found = _LINE.match(message)
        if found:
            return kind(found["reason"], field=field, line=int(found["line"]))
        return kind(message, field=field)
    if kind is NotFound:
        return _not_found(message, field)
    if kind is Unauthorized:
        return Unauthorized(message, status=status)
    return kind(message)


def _not_found(message: str, field: str | None) -> NotFound:
    """NotFound(kind, key) read back from "item 'a1' not found"; any other message (a path
    the server does not have) is kept as it is."""
    found = _NOT_FOUND.match(message)
    kind, key = "resource", message
    if found:
        with contextlib.suppress(ValueError, SyntaxError):
            kind, key = found["kind"], str(ast.literal_eval(found["key"]))
    error = NotFound(kind, key, field=field)
    error.args = (message,)  # the server's words, whatever their form
    return error
