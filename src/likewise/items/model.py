"""The Item: a caller's id, content fields that are embedded, and free metadata."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from likewise.errors import InvalidInput
from likewise.items.images import digest, image_bytes
from likewise.items.limits import (
    AS_STORED,
    MAX_DEPTH,
    MAX_ID_LENGTH,
    Limits,
    check_size,
    limits_of,
)
from likewise.items.records import hash_record, lone_surrogate, sha

__all__ = [
    "CONTENT_FIELDS",
    "DEFAULT_TEMPLATE",
    "ID_FORBIDDEN",
    "MAX_DEPTH",
    "MAX_ID_LENGTH",
    "NOT_BLANK",
    "ContentTemplate",
    "Item",
    "check_id",
    "check_json",
    "check_text",
    "check_vectors",
    "invalid_input",
    "parse_item",
    "stored_item",
    "validate_record",
]

CONTENT_FIELDS = ("title", "body", "tags")
DEFAULT_TEMPLATE = ("title", "body", "tags")
# Characters an id may not hold: controls (C0, DEL, C1), invisible format characters (soft
# hyphen, zero-width, bidi marks, BOM) and line separators: an id is seen, typed and sent.
ID_FORBIDDEN = "\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
_FORBIDDEN = re.compile(f"[{ID_FORBIDDEN}]")
# A character that is not blank, as JSON Schema's regex (ECMA-262) reads `\S`: the server and
# its OpenAPI document then agree on which texts are blank (Python's `str.strip` does not).
NOT_BLANK = "[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
_NOT_BLANK = re.compile(NOT_BLANK)


def check_text(text: str | None, field: str) -> None:
    """None, or a string with a character that is not blank (and no lone surrogate)."""
    if text is None:
        return
    if not isinstance(text, str) or not _NOT_BLANK.search(text):
        raise InvalidInput("must be a string with a character that is not blank", field=field)
    check_json(text, field)


def check_id(value: str, max_length: int = MAX_ID_LENGTH) -> str:
    """An id as written (ValueError: blank, longer than `max_length`, or holds a character
    `ID_FORBIDDEN` names)."""
    if not value.strip():
        raise ValueError("must not be blank")
    if len(value) > max_length:
        raise ValueError(
            f"is longer than the limit of {max_length:,} characters (LIKEWISE_MAX_ID_LENGTH)"
        )
    if _FORBIDDEN.search(value):
        raise ValueError("must not contain control, invisible or line-separator characters")
    if lone_surrogate(value):
        raise ValueError("is not valid Unicode (a lone surrogate)")
    return value


NUL = "must not contain the NUL character (\\x00)"  # no database's text type can hold it


class Item(BaseModel):
    """One catalog entry.

    Top-level keys other than the content fields go into `metadata`, so
    ``{"id": "a1", "title": "...", "category": "news"}`` has ``metadata == {"category": "news"}``.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str = Field(min_length=1)
    title: str = ""
    body: str = ""
    tags: tuple[str, ...] = ()
    image: str | None = None
    # The image's bytes: embedded into `image`, never stored; the record keeps their digest.
    image_data: bytes | None = Field(None, repr=False)
    image_sha256: str | None = Field(None, pattern="^[0-9a-f]{64}$")
    metadata: dict[str, Any] = Field(default_factory=dict)
    vectors: dict[str, tuple[float, ...]] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id_not_blank(cls, value: str, info: ValidationInfo) -> str:
        return check_id(value, limits_of(info).max_id_length)

    @field_validator("title", "body", "image")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError(NUL)
        return value

    @field_validator("image_data", mode="before")
    @classmethod
    def _image_bytes(cls, value: Any) -> Any:
        return image_bytes(value)

    @model_validator(mode="after")
    def _image_digest(self) -> Item:
        if self.image_data is not None:  # the bytes' own digest, whatever else was given
            object.__setattr__(self, "image_sha256", digest(self.image_data))
        return self

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError("must be a list of strings, not a string")
        if isinstance(value, list | tuple) and any(
            isinstance(t, str) and "\x00" in t for t in value
        ):
            raise ValueError(NUL)
        return value

    @model_validator(mode="before")
    @classmethod
    def _vectors_numbers(cls, data: Any) -> Any:
        """Each vector checked here, not in a field validator, so that the error names its
        space (`vectors.image`), as a loader's line or a batch's position then does."""
        if not isinstance(data, Mapping) or data.get("vectors") is None:
            return data
        try:
            vectors = check_vectors(data["vectors"])
        except VectorError as exc:
            loc = ("vectors", exc.space) if exc.space else ("vectors",)
            error = InitErrorDetails(
                type=PydanticCustomError("vectors", exc.reason), loc=loc, input=data
            )
            raise ValidationError.from_exception_data(cls.__name__, [error]) from None
        return {**data, "vectors": vectors}

    @model_validator(mode="before")
    @classmethod
    def _extras_into_metadata(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        known = set(cls.model_fields)
        extras = {k: v for k, v in data.items() if k not in known}
        if not extras:
            return data
        metadata = data.get("metadata") or {}
        if not isinstance(metadata, Mapping):
            return data  # the field validator reports it
        clash = sorted(set(extras) & set(metadata))
        if clash:  # named at its place: a model validator's own errors have none
            message = f"{clash[0]!r} is given both at top level and in metadata"
            error = InitErrorDetails(
                type=PydanticCustomError("clash", message), loc=("metadata", clash[0]), input=data
            )
            raise ValidationError.from_exception_data(cls.__name__, [error])
        out = {k: v for k, v in data.items() if k in known}
        out["metadata"] = {**metadata, **extras}
        return out

    @field_validator("metadata")
    @classmethod
    def _metadata_json(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        limits = limits_of(info)
        for key, val in value.items():
            if not isinstance(key, str) or not key:
                raise ValueError("keys must be non-empty strings")
            if "\x00" in key:
                raise ValueError(f"keys: {NUL}")
            if len(key) > limits.max_id_length:  # a field's name: filters index it like an id
                raise ValueError(
                    f"a key of {len(key):,} characters is longer than the limit of "
                    f"{limits.max_id_length:,} characters (LIKEWISE_MAX_ID_LENGTH)"
                )
            _check_json(val, key)
        check_size(value, limits.max_metadata_bytes)
        return value

    def to_record(self) -> dict[str, Any]:
        """The item as one flat JSON-able dict (metadata keys at top level), as ingested.
        Its `vectors` are not part of it: the store keeps them in their spaces."""
        out: dict[str, Any] = {"id": self.id, "title": self.title, "body": self.body}
        out["tags"] = list(self.tags)
        if self.image is not None:
            out["image"] = self.image
        if self.image_sha256 is not None:
            out["image_sha256"] = self.image_sha256
        out.update(self.metadata)
        return out

    def record_hash(self) -> str:
        """A hash of everything stored (content and metadata): equal means unchanged."""
        return hash_record(self.to_record())


class VectorError(ValueError):
    """Why an item's vector is refused, and the space it was given for ("" for them all)."""

    def __init__(self, reason: str, space: str = "") -> None:
        super().__init__(reason)
        self.reason, self.space = reason, space


def check_vectors(value: Any) -> dict[str, list[float]]:
    """An item's own vectors, `{space: [numbers]}`, with every number finite (VectorError
    naming the space otherwise). A bool or a numeric string is no number: pydantic's lax
    mode would read `true` as 1.0 and `"0.5"` as 0.5, so a mistake would pass. Whether each
    space exists and takes vectors of this length is for the engine, which knows the store."""
    if not isinstance(value, Mapping):
        raise VectorError("must be an object of space name to an array of numbers")
    out: dict[str, list[float]] = {}
    for space, vector in value.items():
        if not isinstance(space, str) or not space:
            raise VectorError("keys must be space names")
        if not isinstance(vector, list | tuple) and not hasattr(vector, "tolist"):
            raise VectorError("must be an array of numbers", space)
        numbers = vector.tolist() if hasattr(vector, "tolist") else list(vector)
        if not numbers:
            raise VectorError("must not be empty", space)
        for k, x in enumerate(numbers):
            if isinstance(x, bool) or not isinstance(x, int | float):
                raise VectorError(f"element {k} is not a number", space)
            try:
                finite = math.isfinite(x)
            except OverflowError:  # an integer past a float's range
                finite = False
            if not finite:
                raise VectorError(f"element {k} is not finite (NaN or infinity)", space)
        out[space] = [float(x) for x in numbers]
    return out


def _check_json(value: Any, path: str) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(f"{path}: {NUL}")
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{path}: NaN and infinity are not JSON")
        return
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_json(v, f"{path}[{i}]")
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{path}: keys must be strings")
            if "\x00" in k:
                raise ValueError(f"{path}: keys {NUL}")
            _check_json(v, f"{path}.{k}")
        return
    raise ValueError(f"{path}: {type(value).__name__} is not a JSON value")


def parse_item(data: Any, *, line: int | None = None, limits: Limits | None = None) -> Item:
    """Validate one record into an Item within `limits` (default: `Limits()`), or raise
    InvalidInput naming the field and reason."""
    return validate_record(Item, data, line=line, limits=limits)


def stored_item(record: Any) -> Item:
    """An item as a store read it back. It passed the limits of its day when it was written,
    which a setting may since have lowered, or an older version set higher (ids of 512
    characters, metadata of any size): those are not applied again, or it could not be read.
    A stored `vectors` key is metadata an older version kept (it was no field then; items'
    own vectors are stored in their spaces, never in the record)."""
    if isinstance(record, Mapping) and "vectors" in record:  # no record holds `metadata`
        kept = {k: v for k, v in record.items() if k != "vectors"}
        record = {**kept, "metadata": {"vectors": record["vectors"]}}
    return validate_record(Item, record, limits=AS_STORED)


M = TypeVar("M", bound=BaseModel)


def validate_record(
    model: type[M], data: Any, *, line: int | None = None, limits: Limits | None = None
) -> M:
    """`data` (a mapping) validated as `model` within `limits` (default: `Limits()`), or
    InvalidInput. A `model` instance passes as it is: it was checked when it was made."""
    if isinstance(data, model):
        return data
    if not isinstance(data, Mapping):
        noun = model.__name__.lower()
        raise InvalidInput(f"an {noun} must be an object, not {type(data).__name__}", line=line)
    limits = limits or Limits()
    check_json(data, line=line, max_depth=limits.max_depth)
    try:
        return model.model_validate(data, context={"limits": limits})
    except ValidationError as exc:
        raise invalid_input(exc, line=line) from None


def check_json(
    value: Any,
    field: str | None = None,
    *,
    line: int | None = None,
    depth: int = 0,
    max_depth: int = MAX_DEPTH,
) -> None:
    """JSON that can be stored and hashed: no string (key or value) with a lone UTF-16
    surrogate (JSON's `\\ud800` escapes allow them; UTF-8 does not), nested at most
    `max_depth` deep. InvalidInput names the place (`metadata.a[2]`)."""
    if depth > max_depth:
        raise InvalidInput(
            f"nested more than {max_depth} deep (LIKEWISE_MAX_DEPTH)", field=field, line=line
        )
    if isinstance(value, str):
        if lone_surrogate(value):
            raise InvalidInput("is not valid Unicode (a lone surrogate)", field=field, line=line)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key).encode("utf-8", "backslashreplace").decode("utf-8")
            place = f"{field}.{name}" if field else name
            check_json(key, place, line=line, depth=depth + 1, max_depth=max_depth)
            check_json(item, place, line=line, depth=depth + 1, max_depth=max_depth)
    elif isinstance(value, list | tuple):
        for k, item in enumerate(value):
            check_json(item, f"{field or ''}[{k}]", line=line, depth=depth + 1, max_depth=max_depth)


def invalid_input(exc: ValidationError, *, line: int | None = None) -> InvalidInput:
    """The first pydantic error as an InvalidInput naming its field."""
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or None
    message = str(err["msg"]).removeprefix("Value error, ")
    return InvalidInput(message, field=field, line=line)


class ContentTemplate:
    """Which fields make the text that is embedded, in order.

    Fields are content fields (`title`, `body`, `tags`) or metadata keys; empty ones are
    skipped, lists are joined with ", ", parts with a newline.
    """

    def __init__(self, fields: Sequence[str] = DEFAULT_TEMPLATE) -> None:
        fields = tuple(f.strip() for f in fields if f.strip())
        if not fields:
            raise InvalidInput("must name at least one field", field="template")
        self.fields = fields

    @classmethod
    def parse(cls, spec: str) -> ContentTemplate:
        """From a comma-separated list, e.g. ``"title,body,tags"``."""
        return cls(spec.split(","))

    def __str__(self) -> str:
        return ",".join(self.fields)

    def render(self, item: Item) -> str:
        parts = []
        for name in self.fields:
            value = getattr(item, name) if name in CONTENT_FIELDS else item.metadata.get(name)
            if isinstance(value, list | tuple):
                value = ", ".join(str(v) for v in value)
            if value is not None and str(value).strip():
                parts.append(str(value).strip())
        return "\n".join(parts)

    def content_hash(self, item: Item) -> str:
        """Equal hashes mean the embedded text is the same: no need to embed again."""
        return sha(self.render(item))
