"""The space `image`, filled at ingest from the items' `image` field (a local path).

An ingest first finds the items whose image needs a vector: those naming a local file whose
path changed, or that have no vector in `image` yet (so an ingest cut short, or one that
failed on a file, is completed by running it again). It reads each of those files before it
writes anything, so a missing, oversized or undecodable file refuses the whole call with the
item's position and the field `image`, as any other bad field does. After the items are
written, the images are embedded and written in batches of the store's batch size.

Files are read only from the folder the `image_folder` setting names (unset: none, and
`image` is only a link, as it was before images were embedded): a relative path is read
inside it, and a path that leads outside it (`../`, an absolute path, a symlink) is refused,
so a caller with a write key cannot make the server read, or learn of, any other file. A value
with a URL scheme (`https://...`) is kept as the item's link and not embedded: likewise
fetches nothing. The space is created on first use, 1280-d and cosine. An item whose image
is removed keeps its last vector in `image` until it is deleted (the store has no way yet to
drop one vector).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from likewise.embedders.base import Embedder
from likewise.errors import InvalidInput
from likewise.items.model import Item
from likewise.store import Space, Store, metric_of

__all__ = ["IMAGE", "embed_images", "images_to_embed", "is_local"]

IMAGE = "image"


def is_local(image: str | None) -> bool:
    """Whether an item's `image` names a local file to embed (not None, not a URL)."""
    return image is not None and "://" not in image


def images_to_embed(
    store: Store,
    items: Sequence[Item],
    embedder: Callable[[], Embedder],
    folder: str | None,
) -> dict[str, str]:
    """The image file of each of `items` whose vector in `image` is missing or stale (id ->
    the path inside `folder`), each file read once as the model will read it (InvalidInput
    naming `items[k].image`). `embedder` is called only when there is an image to check: a
    catalog without images needs no image model. No `folder`: nothing is read."""
    if folder is None:
        return {}
    named = {i.id: i.image for i in items if is_local(i.image)}
    if not named:
        return {}
    stored = {i.id: i.image for i in store.get(list(named))}
    have = set(store.vectors(list(named), space=IMAGE)) if IMAGE in store.spaces() else set()
    stale = {k for k, path in named.items() if k not in have or stored.get(k) != path}
    if not stale:
        return {}
    root = Path(folder).resolve()
    todo: dict[str, str] = {}
    for position, item in enumerate(items):
        if item.id in stale and item.image is not None:
            path = (root / item.image).resolve()
            if not path.is_relative_to(root):
                raise InvalidInput(
                    f"{item.image!r} is outside the image folder (LIKEWISE_IMAGE_FOLDER)",
                    field=f"items[{position}].image",
                )
            todo[item.id] = str(path)
    model = embedder()
    check = getattr(model, "check", None)  # a plugin's image model may not offer one
    for position, item in enumerate(items):
        if item.id in todo and check is not None:
            try:
                check([todo[item.id]])
            except InvalidInput as exc:
                raise InvalidInput(exc.reason, field=f"items[{position}].image") from None
    return todo


def embed_images(store: Store, embedder: Embedder, todo: dict[str, str], batch: int) -> int:
    """Embed `todo` (id -> path) into the space `image`, created on first use, one durable
    write per `batch` items; the count written."""
    if not todo:
        return 0
    store.add_space(Space(IMAGE, embedder.dim, metric_of("cosine")))
    ids = list(todo)
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        vectors = embedder.embed([todo[k] for k in chunk])
        store.put_vectors(IMAGE, dict(zip(chunk, vectors, strict=True)))
    return len(ids)
