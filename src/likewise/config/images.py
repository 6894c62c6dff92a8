"""The image settings: where item images are read from, whether URLs are fetched, and which
model fills the space `image`.

An item's `image` is a link until a setting says otherwise: a path is read only inside
`image_folder`, a URL fetched only with `image_fetch` (http and https, at most
`image_fetch_max_bytes`, `image_fetch_timeout` seconds and `image_fetch_redirects` redirects),
so a caller with a write key cannot make the server read a file or reach a host the operator
did not allow. `image_model` is the packaged EfficientNet-Lite0 (`likewise[images]`), or
`openai:<model>[@<dim>]`: a server at `openai_base_url` that embeds images and texts into one
space (the CLIP case), which also lets text search the space `image`.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from likewise.config.base import Component

__all__ = ["DEFAULT_IMAGE_MODEL", "ImagesConfig"]

DEFAULT_IMAGE_MODEL = "efficientnet-lite0"
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # as an image given as bytes (likewise.items.images)


class ImagesConfig(Component):
    """How items' images become vectors in the space `image`."""

    section: ClassVar[str] = "images"

    image_folder: str | None = Field(
        None,
        description="the folder an item's `image` path is read from, to embed it into the "
        "space `image` (likewise[images]); a path outside it is refused. Unset: `image` is "
        "a link and no file is read",
    )
    image_model: str = Field(
        DEFAULT_IMAGE_MODEL,
        description="the model of the space `image`: efficientnet-lite0 (packaged, "
        "likewise[images]) or openai:<model>[@<dim>], a server at openai_base_url that "
        "embeds images (sent as data: URIs) and texts into one space, so text searches images",
    )
    image_fetch: bool = Field(
        False,
        description="fetch an item's `image` URL (http, https) to embed it; off: a URL is "
        "only a link",
    )
    image_fetch_max_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1,
        le=MAX_IMAGE_BYTES,
        description="largest image fetched, in bytes; a larger one is refused while it streams",
    )
    image_fetch_timeout: float = Field(
        10.0, gt=0, le=600, description="seconds one image fetch may take, redirects included"
    )
    image_fetch_redirects: int = Field(
        3, ge=0, le=10, description="redirects one image fetch may follow"
    )

    @field_validator("image_model")
    @classmethod
    def _model(cls, name: str) -> str:
        if name != DEFAULT_IMAGE_MODEL and not name.startswith("openai:"):
            raise ValueError(f"give {DEFAULT_IMAGE_MODEL} or openai:<model>[@<dim>]")
        return name
