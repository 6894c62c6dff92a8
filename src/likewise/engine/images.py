"""The space `image`, filled at ingest from each item's image: a local file, bytes given with
the item, or a URL fetched when a setting allows it.

An item's image comes, first found first, from:
- `image_data`: its bytes (base64 or a `data:` URI in JSON). They are embedded and never
  stored; the record keeps their SHA-256 (`image_sha256`), so the same bytes sent again are not
  embedded again. An `image` given beside them stays the item's link and is not read;
- `image`, a path: read only inside the folder the `image_folder` setting names (unset: no
  file is read and `image` is a link, as before images were embedded). A relative path is read
  inside it, and a path that leads outside it (`../`, an absolute path, a symlink) is refused,
  so a caller with a write key cannot make the server read, or learn of, any other file;
- `image`, an `http(s)://` URL: fetched only with the `image_fetch` setting
  (`engine/image_fetch.py`), else kept as a link.

An ingest first finds the items whose image needs a vector: a new or changed image (path, URL
or digest), or one whose vector is missing (so an ingest cut short, or one that failed on an
image, is completed by running it again). It reads (or fetches) and checks each of them before
it writes anything, so a missing, oversized, undecodable or unreachable image refuses the
whole call with the item's position and its field (`items[k].image` or `items[k].image_data`),
as any other bad field does. After the items are written, the images are embedded and written
in batches of the store's batch size.

An item whose image is taken away (`image` null, empty or absent, and no `image_data` or
`image_sha256`), or changed to one that is not embedded (a URL with fetching off), loses its
vector in `image`, unless the call gives it one of its own (`vectors.image`).

The space is created on first use with the image model's dimension (1280 for the packaged
EfficientNet-Lite0) and cosine. With `image_model = "openai:<model>"` the model is a server
that embeds images and texts into one space (`embedders/remote_image.py`), and
:func:`search_by_text` searches the space `image` with a text.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from likewise.config.embedding import EmbeddingConfig
from likewise.config.images import DEFAULT_IMAGE_MODEL, ImagesConfig
from likewise.embedders.base import Embedder
from likewise.engine.image_fetch import fetch_images, is_url
from likewise.errors import ConfigError, InvalidInput
from likewise.items.model import Item
from likewise.store import TEXT, Hit, Space, Store, metric_of

__all__ = [
    "IMAGE",
    "ImagePlan",
    "embed_images",
    "image_model",
    "images_to_embed",
    "is_local",
    "search_by_text",
]

IMAGE = "image"


def is_local(image: str | None) -> bool:
    """Whether an item's `image` names a local file (not empty, not a URL)."""
    return bool(image) and "://" not in (image or "")


@dataclass
class ImagePlan:
    """What an ingest does to the space `image` once its items are written."""

    todo: dict[str, str] = field(default_factory=dict)  # id -> a path or a `data:` URI
    drop: list[str] = field(default_factory=list)  # ids whose image was taken away

    def __bool__(self) -> bool:
        return bool(self.todo or self.drop)


@dataclass
class _Source:
    """Where one item's image is read from, the field that named it, and what the stored
    record must hold for its vector to be current."""

    position: int
    field: str
    given: str  # a path, a URL or a data: URI
    key: tuple[str | None, str | None]  # (image, image_sha256) as stored when current


def image_model(images: ImagesConfig, embedding: EmbeddingConfig) -> Embedder:
    """The model of the space `image` the settings name: the packaged EfficientNet-Lite0
    (`likewise[images]`), or a remote server that embeds images (`openai:<model>[@<dim>]`,
    called with the `openai_*` settings)."""
    if images.image_model == DEFAULT_IMAGE_MODEL:
        from likewise.embedders.image import ImageEmbedder

        return ImageEmbedder()
    from likewise.embedders.openai import parse_name
    from likewise.embedders.remote_image import RemoteImageEmbedder

    model, dimensions = parse_name(images.image_model)
    return RemoteImageEmbedder(model, **{**embedding.embedder_options(), "dimensions": dimensions})


def images_to_embed(
    store: Store,
    items: Sequence[Item],
    embedder: Callable[[], Embedder],
    config: ImagesConfig,
) -> ImagePlan:
    """The images of `items` to embed (id -> a path inside `image_folder`, or a `data:` URI of
    given or fetched bytes), each read once as the model will read it, and the items whose
    image was taken away. InvalidInput names `items[k].image` or `items[k].image_data`.
    `embedder` is called only when there is an image to check: a catalog without images needs
    no image model."""
    sources = {i.id: s for k, i in enumerate(items) if (s := _source(k, i, config)) is not None}
    has_space = IMAGE in store.spaces()
    if not sources and not has_space:
        return ImagePlan()
    stored = {i.id: (i.image, i.image_sha256) for i in store.get([i.id for i in items])}
    have = set(store.vectors(list(sources), space=IMAGE)) if has_space and sources else set()
    plan = ImagePlan()
    for item in items:
        now = (item.image, item.image_sha256)
        if item.id in sources:
            if item.id not in have or stored.get(item.id) != sources[item.id].key:
                plan.todo[item.id] = sources[item.id].given
        elif has_space and stored.get(item.id, now) != now and IMAGE not in item.vectors:
            plan.drop.append(item.id)
    if plan.todo:
        _read(plan.todo, {k: sources[k] for k in plan.todo}, embedder, config, store)
    return plan


def _source(position: int, item: Item, config: ImagesConfig) -> _Source | None:
    """Where `item`'s image is read from, if anywhere (see the module's docstring)."""
    key = (item.image, item.image_sha256)
    if item.image_data is not None:
        uri = "data:application/octet-stream;base64," + base64.b64encode(item.image_data).decode()
        return _Source(position, "image_data", uri, key)
    if is_local(item.image) and config.image_folder is not None:
        return _Source(position, "image", str(item.image), key)
    if is_url(item.image) and config.image_fetch:
        return _Source(position, "image", str(item.image), key)
    return None


def _read(
    todo: dict[str, str],
    sources: Mapping[str, _Source],
    embedder: Callable[[], Embedder],
    config: ImagesConfig,
    store: Store,
) -> None:
    """Resolve `todo`'s paths inside the folder and fetch its URLs (in place), then check
    every image with the model; the first refusal in the items' order raises."""
    root = Path(config.image_folder or ".").resolve()
    order = sorted(todo, key=lambda i: sources[i].position)
    for item_id in order:
        source = sources[item_id]
        if source.field == "image" and not is_url(source.given):
            path = (root / source.given).resolve()
            if not path.is_relative_to(root):
                raise InvalidInput(
                    f"{source.given!r} is outside the image folder (LIKEWISE_IMAGE_FOLDER)",
                    field=f"items[{source.position}].image",
                )
            todo[item_id] = str(path)
    urls = [i for i in order if sources[i].field == "image" and is_url(sources[i].given)]
    fields = [f"items[{sources[i].position}].image" for i in urls]
    todo.update(zip(urls, fetch_images([todo[i] for i in urls], fields, config), strict=True))
    model = embedder()
    space = store.spaces().get(IMAGE)
    if space is not None and space.dim != model.dim:
        raise ConfigError(
            f"the space image holds {space.dim}-d vectors; the image model {model.model_id} "
            f"gives {model.dim} (LIKEWISE_IMAGE_MODEL)"
        )
    check = getattr(model, "check", None)  # a plugin's image model may not offer one
    if check is None:
        return
    for item_id in order:
        try:
            check([todo[item_id]])
        except InvalidInput as exc:
            source = sources[item_id]
            raise InvalidInput(
                exc.reason, field=f"items[{source.position}].{source.field}"
            ) from None


def embed_images(
    store: Store, embedder: Callable[[], Embedder], plan: ImagePlan, batch: int
) -> int:
    """Embed `plan.todo` into the space `image`, created on first use, one durable write per
    `batch` items, and drop the vectors of `plan.drop`; the count written."""
    if plan.drop and IMAGE in store.spaces():
        store.drop_vectors(IMAGE, plan.drop)
    if not plan.todo:
        return 0
    model = embedder()
    store.add_space(Space(IMAGE, model.dim, metric_of("cosine")))
    ids = list(plan.todo)
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        vectors = model.embed([plan.todo[k] for k in chunk])
        store.put_vectors(IMAGE, dict(zip(chunk, vectors, strict=True)))
    return len(ids)


def search_by_text(
    store: Store,
    space: str,
    embedder: Callable[[], Embedder],
    text: str,
    **options: Any,
) -> list[Hit]:
    """The items whose vectors in `space` are closest to `text`, embedded by the model of that
    space: only `image`, and only when its model embeds texts too (a remote CLIP-like server);
    else InvalidInput naming `space`."""
    known = store.spaces()
    if space not in known or space == TEXT:
        names = ", ".join(known)
        raise InvalidInput(f"unknown space {space!r}; known: {names}", field="space")
    model = embedder() if space == IMAGE else None
    embed_text = getattr(model, "embed_text", None)
    if model is None or embed_text is None:
        raise InvalidInput(
            f"the space {space!r} cannot be searched by text: its model does not embed texts "
            "(give a vector, or an image_model that embeds texts and images: openai:<model>)",
            field="space",
        )
    vector = embed_text([text])[0]
    return store.search(vector, space=space, **options)
