"""`likewise backup DEST` and `likewise restore SRC`: a checksummed copy of the `--data` store,
taken while servers write to it, and put back only once every checksum and count agrees."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

from likewise.backup import Manifest, backup_store, restore_store, verify_backup
from likewise.cli.common import emit
from likewise.cli.options import shared
from likewise.store.location import redact

SubParsers = Any  # argparse's _SubParsersAction is private


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    help = "Back up the --data store into a new folder while servers keep writing, checksummed."
    p = sub.add_parser("backup", parents=[shared(common)], help=help, description=help)
    p.add_argument("destination", metavar="dest", help="a new (or empty) folder")
    p.set_defaults(handler=backup)
    help = (
        "Restore a backup into the --data store: every checksum and count is checked first, "
        "and a failed restore leaves the store as it was."
    )
    p = sub.add_parser("restore", parents=[shared(common)], help=help, description=help)
    p.add_argument("source", metavar="src", help="a folder made by `likewise backup`")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace the store at --data if it holds anything (stop its servers first)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="only verify the backup (sizes, sha256, integrity, counts); restore nothing",
    )
    p.set_defaults(handler=restore)


@contextmanager
def _bars(total: int, what: str) -> Iterator[Callable[[int], object]]:
    with tqdm(
        total=total, desc=what, unit="B", unit_scale=True, file=sys.stderr, disable=None
    ) as bar:
        yield bar.update


def _summary(manifest: Manifest) -> str:
    counts = "  ".join(f"{k}: {v}" for k, v in manifest.counts.items())
    sums = "  ".join(f"{name} sha256 {f['sha256'][:16]}" for name, f in manifest.files.items())
    return f"{counts}\n{sums}"


def backup(args: argparse.Namespace) -> int:
    manifest = backup_store(args.data, args.destination, bars=_bars, progress=True)
    data = {"destination": str(args.destination), **manifest.as_dict()}
    emit(
        args,
        data,
        lambda: (
            f"backed up {redact(args.data)} ({manifest.backend}) to {args.destination}\n"
            + _summary(manifest)
        ),
    )
    return 0


def restore(args: argparse.Namespace) -> int:
    if args.check:
        manifest = verify_backup(args.source, bars=_bars)
        done = f"verified {args.source}: every checksum and count agrees"
    else:
        manifest = restore_store(
            args.source, args.data, force=args.force, bars=_bars, progress=True
        )
        done = f"restored {args.source} into {redact(args.data)}, checksums and counts verified"
    data = {"source": str(args.source), **manifest.as_dict()}
    emit(args, data, lambda: f"{done}\n{_summary(manifest)}")
    return 0
