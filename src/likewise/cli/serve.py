"""`likewise serve`: the HTTP API on uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import os
import shutil
import sys
import tempfile
from typing import Any

from likewise.cli.retrain import Retrainer
from likewise.config import Settings
from likewise.errors import ConfigError, InvalidInput
from likewise.store.location import redact

SubParsers = Any  # argparse's _SubParsersAction is private


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    help = "Serve the HTTP API (docs at /docs)."
    p = sub.add_parser("serve", parents=[common], help=help, description=help)
    p.add_argument("--host", help="address to bind (env LIKEWISE_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (env LIKEWISE_PORT, default 8000)")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing the port (default 1). Each opens the store itself: "
        "meant for PostgreSQL; an embedded store loads its index once per worker",
    )
    p.add_argument(
        "--site",
        action="store_true",
        default=None,
        help="also serve the demo site and dashboard at / (env LIKEWISE_SITE)",
    )
    p.add_argument(
        "--train-every",
        type=float,
        help="retrain (`train --tune`, in a child process) every this many seconds; the "
        "server swaps to the new model when it is stored (env LIKEWISE_TRAIN_EVERY, 0: off)",
    )
    p.add_argument(
        "--log-format",
        choices=["human", "json"],
        help="one readable line per request and message, or one JSON object a line "
        "(env LIKEWISE_LOG_FORMAT, default human)",
    )
    p.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error", "critical"],
        default="info",
        help="the least severe messages logged (default info: a line per request)",
    )
    p.set_defaults(handler=serve)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(args: argparse.Namespace) -> int:
    overrides = {
        "data": args.data,
        "host": args.host,
        "port": args.port,
        "site": getattr(args, "site", None),
        "train_every": getattr(args, "train_every", None),
        "log_format": getattr(args, "log_format", None),
    }
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    service = settings.service
    if not (service.read_keys or service.write_keys) and not is_loopback(service.host):
        raise ConfigError(
            f"refusing to serve on {service.host} without API keys: anyone who can reach it "
            "could write and delete. Set LIKEWISE_WRITE_KEYS / LIKEWISE_READ_KEYS (JSON lists) "
            "or bind 127.0.0.1"
        )
    if args.workers < 1:
        raise InvalidInput("must be at least 1", field="workers")
    print(
        f"likewise: serving {redact(settings.store.data)} on http://{service.host}:{service.port} "
        f"with {args.workers} worker(s) (docs: /docs"
        + (", site: /, dashboard: /dashboard)" if service.site else ")"),
        file=sys.stderr,
    )
    # Several workers count in files of one fresh folder, summed at each scrape; it must be
    # in the environment before a worker imports prometheus_client (service/metrics.py).
    shared = tempfile.mkdtemp(prefix="likewise-metrics-") if args.workers > 1 else None
    if shared is None:
        os.environ.pop(MULTIPROCESS_DIR, None)  # one process: its own registry is the truth
    else:
        os.environ[MULTIPROCESS_DIR] = shared
    try:
        run(args, settings, args.workers)
    finally:
        if shared is not None:
            shutil.rmtree(shared, ignore_errors=True)
    return 0


MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # as service/metrics.py reads it


def run(args: argparse.Namespace, settings: Settings, workers: int) -> None:
    """uvicorn, with our logs in every worker, until it is stopped."""
    import uvicorn

    from likewise.service.logs import log_config

    service = settings.service
    app: Any = "likewise.service.app:create_app"
    if workers == 1:
        from likewise.service import create_app

        app = create_app(settings)
    else:
        # Worker processes build their own app from the environment (uvicorn imports it).
        # Only what flags gave is handed on; the rest they read as this process did (the
        # environment, `_FILE` variables, the configuration file), so no secret is copied.
        given = {
            "data": getattr(args, "data_flag", args.data),
            "host": args.host,
            "port": args.port,
            "site": getattr(args, "site", None),
            "train_every": getattr(args, "train_every", None),
            "log_format": getattr(args, "log_format", None),
        }
        for name, value in given.items():
            if value is not None:
                variable = f"LIKEWISE_{name.upper()}"
                os.environ[variable] = str(value).lower() if isinstance(value, bool) else str(value)
                os.environ.pop(f"{variable}_FILE", None)  # a flag wins over its file too
    every = settings.training.train_every
    retrainer = Retrainer(settings.store.data, every).start() if every else None
    try:
        uvicorn.run(
            app,
            factory=workers > 1,
            workers=workers,
            host=service.host,
            port=service.port,
            log_config=log_config(service.log_format, args.log_level),
            log_level=args.log_level,
            access_log=False,  # ours: service/logs.py
        )
    finally:
        if retrainer is not None:
            retrainer.stop()
