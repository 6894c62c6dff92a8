"""Items in: the changes an ingest makes (embedding only what changed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import numpy.typing as npt

from likewise.embedders.base import Embedder
from likewise.engine.checks import IngestReport
from likewise.errors import EmbedderError, IngestStopped
from likewise.items.model import ContentTemplate, Item
from likewise.store import Entry, Store

__all__ = ["Progress", "ingest"]

Progress = Callable[[int], object]
Vector = npt.NDArray[np.float32]


def ingest(
    store: Store,
    embedder: Embedder,
    template: ContentTemplate,
    items: Sequence[Item],
    *,
    batch: int,
    delete_missing: bool,
    progress: Progress | None,
) -> IngestReport:
    """Write the new and changed `items` in durable batches, embedding those whose text
    changed; with `delete_missing`, delete the stored items absent from `items`."""
    report = IngestReport()
    stored = store.hashes([item.id for item in items])
    todo: list[tuple[Item, str, bool]] = []
    for item in items:
        content = template.content_hash(item)
        old = stored.get(item.id)
        if old is None:
            report.new += 1
        elif old == (content, item.record_hash()):
            report.unchanged += 1
            continue
        else:
            report.changed += 1
        todo.append((item, content, old is None or old[0] != content))
    if progress and report.unchanged:
        progress(report.unchanged)
    # A remote embedder keeps `concurrency` requests in flight: it is handed that many
    # durable batches at once, and they are written one by one once all are embedded.
    window = batch * max(1, embedder.concurrency)
    for start in range(0, len(todo), window):
        chunk = todo[start : start + window]
        try:
            vectors = embed_changed(embedder, template, chunk)
        except EmbedderError as exc:
            raise IngestStopped(exc, [item.id for item, _, _ in todo[start:]], start) from exc
        for first in range(0, len(chunk), batch):
            part = chunk[first : first + batch]
            store.upsert(
                [
                    Entry(item, content, next(vectors) if embed else None)
                    for item, content, embed in part
                ]
            )
            report.embedded += sum(embed for _, _, embed in part)
            if progress:
                progress(len(part))
    if delete_missing:
        keep = {item.id for item in items}
        report.deleted = store.delete([i for i in store.all_ids() if i not in keep])
    return report


def embed_changed(
    embedder: Embedder, template: ContentTemplate, chunk: Sequence[tuple[Item, str, bool]]
) -> Iterator[Vector]:
    """The vectors of the items in `chunk` whose text changed, in order."""
    texts = [template.render(item) for item, _, embed in chunk if embed]
    return iter(embedder.embed(texts)) if texts else iter(())
