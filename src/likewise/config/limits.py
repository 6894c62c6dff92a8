"""The input limits: how long an id, how large metadata, how deep JSON, how many records one
request may send, how large its body, and how much of a text is embedded.

Each is a setting (`LIKEWISE_MAX_*`) with a default that serves a catalog of ordinary items,
and each refusal names its setting, so a caller who meets one knows what an operator chose.
The record parsers take the first three as :class:`likewise.items.limits.Limits` (the Engine
makes it from these); the service applies the batch and body limits to each request, and the
embedder cuts each text at `max_text_chars`.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from likewise.config.base import Component
from likewise.items.limits import DEEPEST, MAX_DEPTH, MAX_ID_LENGTH, MAX_METADATA_BYTES, Limits

__all__ = ["LimitsConfig"]


class LimitsConfig(Component):
    """What one record or request may hold; the record limits' defaults are the parsers' own
    (`Limits`), so a record checked with no settings meets the same rules."""

    section: ClassVar[str] = "limits"

    max_id_length: int = Field(
        MAX_ID_LENGTH,
        ge=1,
        le=MAX_ID_LENGTH,  # PostgreSQL indexes two ids in one row: see items.limits
        description="longest id (user, item, event) and metadata key, in characters; may be "
        "lowered, not raised",
    )
    max_metadata_bytes: int = Field(
        MAX_METADATA_BYTES,
        ge=2,
        description="largest metadata of an item (and context of an event), as UTF-8 JSON",
    )
    max_depth: int = Field(
        MAX_DEPTH, ge=1, le=DEEPEST, description="deepest nesting of JSON in metadata and context"
    )
    max_batch: int = Field(
        10_000, ge=1, description="most items or events one batch request may send"
    )
    max_body_bytes: int = Field(10_000_000, ge=1, description="largest request body accepted")
    max_text_chars: int | None = Field(
        None,
        ge=1,
        description="characters of a text the model embeds, the rest cut off (unset: the "
        "model's own, 8,192 for the packaged ones)",
    )

    def rules(self) -> Limits:
        """The limits the record parsers apply."""
        return Limits(self.max_id_length, self.max_metadata_bytes, self.max_depth)
