"""An item's image given as its bytes (`image_data`): raw bytes from Python, base64 or a
`data:image/...;base64,` URI in JSON, JSONL and CSV.

The bytes are read here only as far as a record needs: decoded from base64 and held to the
size limit, so a bad value is refused with the field `image_data` before anything else runs.
Whether they are an image Pillow can decode is the image model's check, at ingest. The record
keeps their SHA-256 (`image_sha256`), never the bytes: that digest is how a later ingest knows
it was sent the same picture and need not embed it again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any

__all__ = ["MAX_IMAGE_BYTES", "data_uri", "digest", "image_bytes"]

MAX_IMAGE_BYTES = 20 * 1024 * 1024  # a product photo is well under; a larger one is refused
# `data:[<media type>][;base64],<data>`: only the base64 form carries binary bytes.
DATA_URI = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?:;[\w.+-]+=[\w.+-]+)*;base64,")


def image_bytes(value: Any, max_bytes: int = MAX_IMAGE_BYTES) -> Any:
    """`value` as bytes: bytes as they are, a string as base64 (standard or URL-safe, with or
    without a `data:...;base64,` prefix); ValueError saying why not. Anything else is left
    for the field's own type check."""
    if isinstance(value, bytearray | memoryview):
        value = bytes(value)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("data:"):
            prefix = DATA_URI.match(text)
            if prefix is None:
                raise ValueError("a data URI must be data:<type>;base64,<data>")
            text = text[prefix.end() :]
        limit = (max_bytes + 2) // 3 * 4 + 4  # base64's length for max_bytes
        if len(text) > 2 * limit:  # refused before any work (line breaks take far less)
            raise ValueError(f"over the limit of {max_bytes:,} bytes")
        text = "".join(text.split()).replace("-", "+").replace("_", "/")
        if len(text) > limit:  # refused before it is decoded
            raise ValueError(f"over the limit of {max_bytes:,} bytes")
        try:
            value = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(
                "must be the image's bytes as base64 (or a data:image/...;base64, URI)"
            ) from None
    if isinstance(value, bytes):
        if not value:
            raise ValueError("is empty: give the image's bytes, or no image_data")
        if len(value) > max_bytes:
            raise ValueError(f"is {len(value):,} bytes, over the limit of {max_bytes:,}")
    return value


def digest(data: bytes) -> str:
    """The SHA-256 of an image's bytes, as the record keeps it (`image_sha256`)."""
    return hashlib.sha256(data).hexdigest()


def data_uri(data: bytes, media_type: str) -> str:
    """`data:<media_type>;base64,<data>`: how bytes travel as one string (to a remote
    embedder, or to the image model beside paths)."""
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"
