"""The HTTP API's JSON into the Engine's return types, and what a query string carries.

The types are the Engine's own (imported from the modules that define them, never the
Engine), so `client.similar(...)` and `engine.similar(...)` compare equal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from likewise.errors import InvalidInput
from likewise.recommend.model import Recommendation, Recommended
from likewise.store.base import Hit

__all__ = ["blend_weights", "encode", "hits", "query", "recommendation", "segment", "unsupported"]


def _default(value: Any) -> Any:
    """numpy arrays and scalars (vectors given to `recommend_from`) as JSON lists/numbers."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def encode(value: Any, field: str) -> str:
    """`value` as compact JSON, or InvalidInput naming `field` (what the Engine would say of
    a value no store could keep)."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False, default=_default)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"must be JSON: {exc}", field=field) from None


def blend_weights(spaces: Mapping[str, float] | None) -> str | None:
    """Blend weights by space as a query takes them, `text:0.6,image:0.4` (None for None).
    Names and numbers are the server's to check: a weight is sent as Python writes it (`nan`
    too), so the refusal names `spaces` as the Engine's does."""
    if spaces is None:
        return None
    if not isinstance(spaces, Mapping):
        raise InvalidInput("must map space names to weights, e.g. {'text': 0.6}", field="spaces")
    if not spaces:
        return ""  # refused by the server as the Engine refuses {}
    return ",".join(f"{name}:{weight!r}" for name, weight in spaces.items())


def segment(value: str, field: str) -> str:
    """An id as one path segment. A `/` could not be told from the path's own (the server
    reads the path decoded), so it is refused here rather than sent to the wrong route."""
    if not isinstance(value, str) or not value:
        raise InvalidInput("must be a non-empty string", field=field)
    if "/" in value:
        raise InvalidInput("the HTTP API takes no '/' in an id in a path", field=field)
    if value.strip(".") == "":  # `.` and `..` would be read as steps in the path
        return "%2E" * len(value)
    return quote(value, safe="")


def unsupported(argument: str, why: str) -> InvalidInput:
    """An Engine argument the HTTP API does not take: refused, never silently dropped."""
    return InvalidInput(f"the HTTP client does not take this argument: {why}", field=argument)


def query(
    *,
    where: Mapping[str, Any] | None = None,
    exclude: Sequence[str] = (),
    **params: str | int | float | bool | None,
) -> dict[str, str | int | float | bool | list[str]]:
    """Query parameters as the routes take them: `where` as JSON, `exclude` repeated, the
    rest as given; None (the Engine's default) is left out."""
    out: dict[str, str | int | float | bool | list[str]] = {
        k: v for k, v in params.items() if v is not None
    }
    if where is not None:
        out["where"] = encode(where, "where")
    if exclude:
        if isinstance(exclude, str):
            raise InvalidInput("must be a list of item ids", field="exclude")
        out["exclude"] = list(exclude)
    return out


def hits(body: Any) -> list[Hit]:
    """`{"items": [{"id", "score"}]}` as the Engine's hits."""
    return [Hit(h["id"], float(h["score"])) for h in body["items"]]


def recommendation(body: Any, offset: int = 0) -> Recommendation:
    """A `Recommendation.as_dict()` read back; `offset` is the one asked for (the positions
    the server sent start after it)."""
    return Recommendation(
        user_id=body["user_id"] or "",  # None: a session's list, "" in the Engine
        strategy=body["strategy"],
        items=[
            Recommended(
                r["id"], float(r["score"]), r["reason"], r.get("because"), tuple(r.get("for", ()))
            )
            for r in body["items"]
        ],
        id=body["recommendation_id"],
        cached=bool(body.get("cached", False)),
        variant=body.get("variant"),
        offset=offset,
        users=tuple(body.get("users", ())),
    )
