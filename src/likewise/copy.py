"""`likewise copy SRC DST`: a whole store moved between the embedded store and PostgreSQL.

Items go through the Store API with their stored vectors (nothing is embedded again; into
PostgreSQL by `bulk_load`: COPY in one transaction, each HNSW index built once after); events,
profiles, snapshots, popularity, impressions and trained models go table by table in their
order. Afterwards both sides are read back: row counts and an order-free checksum of every
table must agree, and every vector must match within float rounding.

A copy marks its destination before writing anything (the blob `likewise.copy`: unfinished,
then verified), so a copy that was stopped part way (kill -9, a lost database, a full disk) is
refused by name the next time, with what to do, instead of passing for a store. The source is
only read.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from likewise.errors import Conflict, StoreError
from likewise.store import TEXT, Entry, Store, open_store
from likewise.store.copy_mark import MARK, UNFINISHED, check_finished, mark
from likewise.store.sql import TABLES

__all__ = ["MARK", "UNFINISHED", "CopyReport", "copy_between", "copy_store"]

log = logging.getLogger(__name__)
BATCH = 1_000


@dataclass
class CopyReport:
    counts: dict[str, int] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)


def copy_store(source: str, destination: str, *, progress: bool = False) -> CopyReport:
    """Copy everything at `source` into the empty store at `destination`, then verify it."""
    src = open_store(source)
    try:
        dst = open_store(destination)
        try:
            return _copy(src, dst, progress)
        finally:
            dst.close()
    finally:
        src.close()


def copy_between(src: Store, dst: Store, *, progress: bool = False) -> CopyReport:
    """Copy everything in the open store `src` into the empty open store `dst`, then verify
    it; for callers that open the stores themselves (`likewise backup` reads one snapshot)."""
    return _copy(src, dst, progress)


def _copy(src: Store, dst: Store, progress: bool) -> CopyReport:
    info = src.info
    if info is None:
        raise StoreError("the source store is empty (no model recorded): nothing to copy")
    _check_destination(dst)
    mark(dst, "unfinished")  # before anything else: whatever follows may be cut short
    dst.initialize(info)
    counts = src.stats()
    spaces = src.spaces()
    for space in spaces.values():
        dst.add_space(space)
    log.info("copying %d items", counts["items"])
    with _bar(progress, counts["items"], "items") as bar:
        load = getattr(dst, "bulk_load", None)  # PostgreSQL: COPY, the indexes built after
        if load is not None:
            load(_batches(src, spaces, bar))
        else:
            for entries, others in _batches(src, spaces, bar):
                dst.upsert(entries)
                for name, found in others.items():
                    dst.put_vectors(name, found)
    for table in TABLES:
        log.info("copying %s", table)
        with _bar(progress, None, table) as bar:
            for page in src.export_rows(table):
                if table == "blobs":  # the source's own mark (a copy itself) stays there
                    page = [row for row in page if row[0] != MARK]
                dst.import_rows(table, page)
                bar.update(len(page))
    log.info("verifying")
    report = _verify(src, dst)
    mark(dst, "verified")
    log.info("copied and verified")
    return report


def _batches(
    src: Store, spaces: Mapping[str, Any], bar: tqdm[Any]
) -> Iterator[tuple[list[Entry], dict[str, dict[str, Any]]]]:
    """The source's items in batches, with their stored vectors: text, and each other
    space's they have."""
    for items in src.iter_items(BATCH):
        ids = [i.id for i in items]
        vectors, hashes = src.vectors(ids), src.hashes(ids)
        others = {name: src.vectors(ids, space=name) for name in spaces.keys() - {TEXT}}
        yield (
            [Entry(i, hashes[i.id][0], vectors[i.id]) for i in items],
            {name: found for name, found in others.items() if found},
        )
        bar.update(len(items))


def _check_destination(dst: Store) -> None:
    check_finished(dst)
    if dst.info is not None or dst.stats()["events"]:
        # the caller's choice of destination, as backup's "not empty" is: exit code 2, not 1
        raise Conflict("the destination is not empty; copy needs a new store", field="destination")


def _verify(src: Store, dst: Store) -> CopyReport:
    report = CopyReport()
    for name, (a, b) in {
        "items": (_item_rows(src), _item_rows(dst)),
        **{t: (_rows(src, t), _rows(dst, t)) for t in TABLES},
    }.items():
        (count, digest), (count_b, digest_b) = _checksum(a), _checksum(b)
        if (count, digest) != (count_b, digest_b):
            raise StoreError(
                f"copy verification failed for {name}: {count} rows ({digest[:12]}) at the "
                f"source, {count_b} ({digest_b[:12]}) at the destination"
            )
        report.counts[name], report.checksums[name] = count, digest
    if dst.spaces() != src.spaces():
        raise StoreError("copy verification failed: the vector spaces differ")
    for items in src.iter_items(BATCH):
        ids = [i.id for i in items]
        for space in src.spaces():
            mine, theirs = src.vectors(ids, space=space), dst.vectors(ids, space=space)
            if mine.keys() != theirs.keys() or any(
                not np.allclose(mine[i], theirs[i], atol=1e-6) for i in mine
            ):
                raise StoreError(
                    f"copy verification failed: the {space} vectors of items {ids[0]!r}... differ"
                )
    return report


def _item_rows(store: Store) -> Iterator[tuple[Any, ...]]:
    for items in store.iter_items(BATCH):
        hashes = store.hashes([i.id for i in items])
        yield from ((i.id, *hashes[i.id]) for i in items)


def _rows(store: Store, table: str) -> Iterator[tuple[Any, ...]]:
    """The rows a copy moves (every row of the table but a copy's mark)."""
    for page in store.export_rows(table):
        yield from (row for row in page if table != "blobs" or row[0] != MARK)


def _checksum(rows: Iterable[tuple[Any, ...]]) -> tuple[int, str]:
    """Row count and an order-free digest (sum of per-row SHA-256 values mod 2**256)."""
    total, count = 0, 0
    for row in rows:
        text = "\x1f".join(
            v.astype(np.float32).tobytes().hex() if isinstance(v, np.ndarray) else repr(v)
            for v in row
        )
        total = (total + int.from_bytes(hashlib.sha256(text.encode()).digest())) % 2**256
        count += 1
    return count, f"{total:064x}"


def _bar(enabled: bool, total: int | None, what: str) -> tqdm[Any]:
    return tqdm(total=total, desc=what, unit=" rows", file=sys.stderr, disable=not enabled or None)
