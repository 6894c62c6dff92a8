"""`likewise watch`: follow folders of drops and HTTP JSON feeds into the store until stopped.

It runs the feed's worker in the foreground (pushes to `POST /v1/feed` included), printing
each file or URL it queued and a bar of the changes applied; SIGINT or SIGTERM finishes the
batch in hand and stops. What it queued and did not apply is applied by the next run.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import Any

from tqdm import tqdm

from likewise.cli.common import open_engine, open_tenants
from likewise.cli.options import shared
from likewise.config import FeedConfig
from likewise.engine.feed import FeedStep
from likewise.engine.feed_worker import FeedWorker
from likewise.errors import ConfigError, InvalidInput

__all__ = ["register"]

SubParsers = Any  # argparse's _SubParsersAction is private


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    what = (
        "Follow folders of .jsonl/.csv drops and HTTP JSON feeds (ETag), and apply pushes to "
        "POST /v1/feed, until SIGINT or SIGTERM: new and changed items embedded in batches, "
        'deletions ({"id": ..., "deleted": true}) applied.'
    )
    p = sub.add_parser("watch", parents=[shared(common)], help=what, description=what)
    p.add_argument(
        "--folder",
        action="append",
        default=[],
        help="a folder of drops (repeat for several; default: the feed_folders setting)",
    )
    p.add_argument(
        "--url",
        action="append",
        default=[],
        help="an HTTP JSON feed polled with ETag (repeat; default: the feed_urls setting)",
    )
    p.add_argument("--every", type=float, help="seconds between looks (default: feed_poll_seconds)")
    p.add_argument("--batch", type=int, help="changes applied at once (default: feed_batch)")
    p.set_defaults(handler=watch)


# The option that gives each setting: a bad value is named as it was typed.
OPTIONS = {
    "feed_folders": "folder",
    "feed_urls": "url",
    "feed_poll_seconds": "every",
    "feed_batch": "batch",
}


def sources(args: argparse.Namespace) -> FeedConfig:
    """The options over the settings, checked as the settings are; a bad option is named as
    it was given (`--every`, not `feed_poll_seconds`)."""
    config = FeedConfig()
    given: dict[str, Any] = {
        "feed_folders": args.folder or config.feed_folders,
        "feed_urls": args.url or config.feed_urls,
        "feed_poll_seconds": config.feed_poll_seconds if args.every is None else args.every,
        "feed_batch": config.feed_batch if args.batch is None else args.batch,
    }
    try:
        config = FeedConfig(**given)
    except ConfigError as exc:
        option = OPTIONS.get(exc.field or "")
        if option is None or getattr(args, option) in (None, []):
            raise  # the setting's own value (environment, file): named as the setting
        reason = str(exc).split(": ", 1)[-1]
        raise InvalidInput(reason, field=f"--{option}") from None
    for folder in config.feed_folders:
        if not Path(folder).is_dir():
            raise InvalidInput(f"no such folder: {folder}", field="--folder")
    return config


def watch(args: argparse.Namespace) -> int:
    config = sources(args)
    bar = tqdm(desc="applied", unit=" changes", file=sys.stderr, disable=None)

    def looked(source: str, queued: int) -> None:
        bar.write(f"{source}: {queued} queued", file=sys.stderr)

    def stepped(step: FeedStep) -> None:
        bar.update(step.taken)
        if bar.disable:  # no terminal: a line a batch instead of the bar
            print(_step_line(step), file=sys.stderr, flush=True)

    with ExitStack() as stack:
        alive: Callable[[], bool] | None = None
        tenant = getattr(args, "tenant", None)
        if tenant is None:
            engine = stack.enter_context(open_engine(args, create=True))
        else:  # stopped when the tenant is deleted: its drops would go nowhere
            tenants = stack.enter_context(open_tenants(args))
            engine = tenants.engine(tenant)

            def alive() -> bool:
                return tenants.current(tenant)

        worker = FeedWorker.of(engine, config, looked=looked, stepped=stepped, alive=alive)

        def stop(signum: int, frame: FrameType | None) -> None:
            worker.stopped.set()
            worker.wake.set()

        previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
        print(f"watching {_named(config)} (every {config.feed_poll_seconds:g} s)", file=sys.stderr)
        try:
            worker.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            bar.close()
        if worker.gone:
            print(f"stopped: tenant {tenant!r} was deleted", file=sys.stderr)
            return 1
        status = engine.feed_status(failures=0)
    print(
        f"stopped: {status.done} applied, {status.failed} failed, {status.pending} waiting",
        file=sys.stderr,
    )
    return 0


def _step_line(step: FeedStep) -> str:
    return (
        f"applied {step.taken}: {step.upserted} upserted ({step.embedded} embedded), "
        f"{step.deleted} deleted, {step.failed} failed"
    )


def _named(config: FeedConfig) -> str:
    named = [*config.feed_folders, *config.feed_urls]
    return ", ".join(named) if named else "pushes only (no --folder or --url)"
