"""The CLIP case: a remote server that embeds images and texts into one space.

Servers that serve CLIP-like models behind OpenAI's `POST /v1/embeddings` (Jina's API, vLLM,
infinity and others) take an image in `input` as a `data:image/...;base64,...` string, beside
plain texts, and answer both with vectors of one space. :class:`RemoteImageEmbedder` sends the
space `image` its images that way (each read and checked here as the packaged model checks
them: size, decompression bomb, decodable), and embeds a search's text with the same model,
which is what makes text-to-image search work. Requests, batching, retries and errors are
:class:`~likewise.embedders.openai.OpenAIEmbedder`'s: an image counts as its data URI's length
against the token budget, so large ones go one to a request.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from likewise.embedders.base import Vectors
from likewise.embedders.image import MAX_IMAGE_BYTES, image_payload
from likewise.embedders.openai import OpenAIEmbedder

__all__ = ["RemoteImageEmbedder"]


class RemoteImageEmbedder(OpenAIEmbedder):
    """Image files or `data:` URIs (its "texts") to vectors through an OpenAI-compatible
    server that embeds images, and texts into the same space with :meth:`embed_text`.

    Takes :class:`OpenAIEmbedder`'s arguments, and `max_bytes` and `max_pixels`, the limits
    of one image as :class:`~likewise.embedders.image.ImageEmbedder` has them.
    """

    max_chars = 64 * 1024 * 1024  # a data URI, never cut

    def __init__(
        self,
        model: str,
        *,
        max_bytes: int = MAX_IMAGE_BYTES,
        max_pixels: int | None = None,
        **options: Any,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        super().__init__(model, **options)

    def check(self, sources: Sequence[str]) -> None:
        """Read every image as :meth:`embed` would: InvalidInput (field `image`) for the first
        that cannot be sent, before a caller writes anything."""
        for source in sources:
            image_payload(source, max_bytes=self.max_bytes, max_pixels=self.max_pixels)

    def embed(self, texts: Sequence[str]) -> Vectors:
        """The normalised vectors of the images at `texts` (paths or `data:` URIs)."""
        return self.embed_many([self._uri(source) for source in texts])

    def embed_text(self, texts: Sequence[str]) -> Vectors:
        """The normalised vectors of plain texts in the images' space (a search's query)."""
        return super().embed(texts)

    def _uri(self, source: str) -> str:
        data, media = image_payload(source, max_bytes=self.max_bytes, max_pixels=self.max_pixels)
        return f"data:{media};base64,{base64.b64encode(data).decode('ascii')}"
