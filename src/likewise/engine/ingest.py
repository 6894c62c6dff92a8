"""Items in: the changes an ingest makes (embedding only what changed)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from likewise.embedders.base import Embedder, normalize
from likewise.embedders.vectors import OwnVectors
from likewise.engine.checks import IngestReport
from likewise.errors import EmbedderError, IngestStopped
from likewise.items.model import ContentTemplate, Item
from likewise.store import TEXT, Entry, Store

__all__ = ["Model", "Progress", "ingest"]

Progress = Callable[[int], object]
# The store's model as it is now: another process may swap in a reembed during an ingest.
Model = Callable[[], Embedder]
Vector = npt.NDArray[np.float32]


def ingest(
    store: Store,
    model: Model,
    template: ContentTemplate,
    items: Sequence[Item],
    *,
    batch: int,
    delete_missing: bool,
    progress: Progress | None,
) -> IngestReport:
    """Write the new and changed `items` in durable batches, embedding those whose text
    changed; with `delete_missing`, delete the stored items absent from `items`.

    An item's own vectors (checked before) are written right after its batch, in one more
    transaction per space: the store writes items and their `text` vectors together, other
    spaces apart. An item whose vectors differ from the stored ones counts as changed, so
    a run stopped between the two writes is completed by running it again.

    `model` is asked for the store's model again once each window of batches is embedded,
    before it is written, so a reembed another process swaps in meanwhile is followed: a
    window embedded by the old model is embedded again by the new one rather than written
    into its space. In a store
    of the team's own text vectors (`vectors:<dim>`), each item's `vectors.text` is its text
    vector and nothing is embedded."""
    report = IngestReport()
    stored = store.hashes([item.id for item in items])
    moved = vectors_changed(store, items)
    todo: list[tuple[Item, str, bool]] = []
    for item in items:
        content = template.content_hash(item)
        old = stored.get(item.id)
        if old is None:
            report.new += 1
        elif old == (content, item.record_hash()) and item.id not in moved:
            report.unchanged += 1
            continue
        else:
            report.changed += 1
        todo.append((item, content, old is None or old[0] != content))
    if progress and report.unchanged:
        progress(report.unchanged)
    # A remote embedder keeps `concurrency` requests in flight: it is handed that many
    # durable batches at once, and they are written one by one once all are embedded.
    current = model()
    own = isinstance(current, OwnVectors)  # then nothing is embedded: the items bring them
    window = batch * max(1, current.concurrency)
    for start in range(0, len(todo), window):
        chunk = todo[start : start + window]
        try:
            vectors = text_vectors(store, model, template, chunk)
        except EmbedderError as exc:
            raise IngestStopped(exc, [item.id for item, _, _ in todo[start:]], start) from exc
        for first in range(0, len(chunk), batch):
            part = chunk[first : first + batch]
            store.upsert([Entry(item, content, vectors.get(item.id)) for item, content, _ in part])
            put_own_vectors(store, [item for item, _, _ in part])
            report.embedded += 0 if own else sum(embed for _, _, embed in part)
            if progress:
                progress(len(part))
    if delete_missing:
        keep = {item.id for item in items}
        report.deleted = store.delete([i for i in store.all_ids() if i not in keep])
    return report


def put_own_vectors(store: Store, items: Sequence[Item]) -> None:
    """The vectors `items` carry, written space by space (the items are stored); a `text`
    vector went in with its item."""
    spaces: dict[str, dict[str, Vector]] = {}
    for item in items:
        for name, vector in item.vectors.items():
            if name != TEXT:
                spaces.setdefault(name, {})[item.id] = np.asarray(vector, dtype=np.float32)
    for name, vectors in spaces.items():
        store.put_vectors(name, vectors)


def vectors_changed(store: Store, items: Sequence[Item]) -> set[str]:
    """The ids among `items` that carry a vector the store does not hold alike (a store
    keeps a cosine space's vectors at unit length: either form is alike)."""
    wanted: dict[str, list[Item]] = {}
    for item in items:
        for name in item.vectors:
            wanted.setdefault(name, []).append(item)
    moved: set[str] = set()
    spaces = store.spaces() if wanted else {}
    for name, carriers in wanted.items():
        cosine = spaces[name].metric == "cosine"
        held = store.vectors([item.id for item in carriers], space=name)
        for item in carriers:
            old = held.get(item.id)
            new = np.asarray(item.vectors[name], dtype=np.float32)
            if old is None or not _alike(old, new, cosine):
                moved.add(item.id)
    return moved


def _alike(old: Vector, new: Vector, cosine: bool) -> bool:
    if old.shape != new.shape:
        return False
    if np.allclose(old, new, rtol=1e-5, atol=1e-6):
        return True
    norm = float(np.linalg.norm(new))
    return cosine and norm > 0 and bool(np.allclose(old, new / norm, rtol=1e-5, atol=1e-6))


def text_vectors(
    store: Store, model: Model, template: ContentTemplate, chunk: Sequence[tuple[Item, str, bool]]
) -> dict[str, Vector]:
    """The new `text` vectors of the items in `chunk`, by id, made by the store's model as it
    is once they are made: if another process swapped in a reembed meanwhile, they are made
    again by the new model (a PostgreSQL store reads its model afresh for this; see
    `ModelSwitch._current`). The model a store of your own vectors records, `vectors:<dim>`,
    makes none: every item's `vectors.text` is taken (at unit length in a cosine store)."""
    embedder = model()
    while True:
        if isinstance(embedder, OwnVectors):
            return own_text(store, [item for item, _, _ in chunk])
        ids = [item.id for item, _, embed in chunk if embed]
        texts = [template.render(item) for item, _, embed in chunk if embed]
        made = dict(zip(ids, embedder.embed(texts), strict=True)) if texts else {}
        now = model()
        if now is embedder:
            return made
        embedder = now


def own_text(store: Store, items: Sequence[Item]) -> dict[str, Vector]:
    """The `text` vectors `items` carry (checked before), as the store keeps them."""
    vectors = np.stack([np.asarray(item.vectors[TEXT], dtype=np.float32) for item in items])
    info = store.info
    if info is not None and info.metric == "cosine":
        vectors = normalize(vectors)
    return {item.id: vector for item, vector in zip(items, vectors, strict=True)}
