"""`likewise config`: the settings a command would run with, and where each came from; and
the global `--config FILE`, the configuration file every command (and every worker of
`serve --workers N`) reads."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from likewise.cli.common import emit
from likewise.config import Settings, dump_toml
from likewise.config.base import sections
from likewise.config.toml import CONFIG_ENV, in_data_dir, origin, read
from likewise.errors import ConfigError
from likewise.store.location import redact

__all__ = ["add_option", "configured", "register"]

SubParsers = Any  # argparse's _SubParsersAction is private
KEYS = ("read_keys", "write_keys", "event_keys")
MASK = "****"


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="configuration file (TOML, the settings' names as keys; env LIKEWISE_CONFIG, "
        "default likewise.toml in the data directory)",
    )


@contextmanager
def configured(args: argparse.Namespace) -> Iterator[None]:
    """While the command runs, `LIKEWISE_CONFIG` names the file `--config` gives, or else
    (unless the variable is set) `likewise.toml` in the `--data` directory, or is empty (no
    file) when that directory has none: the settings read it, and so do the processes the
    command starts. Keeps `--data` as given in `args.data_flag` (main fills `args.data` from
    the settings when it is not)."""
    args.data_flag = getattr(args, "data", None)
    given = getattr(args, "config", None)
    path: Path | None = None
    if given is not None:
        named = Path(given).expanduser().absolute()
        if not named.is_file():
            raise ConfigError(f"--config: no configuration file at {named}")
        path = named
    elif args.data_flag is not None and CONFIG_ENV not in os.environ:
        path = in_data_dir(args.data_flag)
        if path is not None:
            read(path, sections(), own=True)  # its own directory's file may not move it
    else:
        yield  # the file is the one the environment or LIKEWISE_DATA leads to
        return
    before = os.environ.get(CONFIG_ENV)
    # "": not the file of the directory LIKEWISE_DATA or the default names, which --data is not
    os.environ[CONFIG_ENV] = "" if path is None else str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(CONFIG_ENV, None)
        else:
            os.environ[CONFIG_ENV] = before


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    help = "Print the settings in effect (secrets masked) and where each came from."
    description = (
        f"{help} A source is `flag`, `env LIKEWISE_X`, `file LIKEWISE_X_FILE=/path`, "
        "`file /path/likewise.toml` or `default`, highest first. Opens no store."
    )
    p = sub.add_parser("config", parents=[common], help=help, description=description)
    p.set_defaults(handler=show)


def show(args: argparse.Namespace) -> int:
    flags = {} if args.data_flag is None else {"data": args.data_flag}
    settings = Settings(**flags)
    known = sections()
    rows: dict[str, dict[str, Any]] = {}
    for name, kind in Settings.COMPONENTS.items():
        values = getattr(settings, name).model_dump(mode="json")
        for knob in kind.model_fields:
            source = origin(knob, known, flags)
            rows[knob] = {"value": masked(knob, values[knob]), "source": source}
    emit(args, rows, lambda: "\n".join(line(k, row) for k, row in rows.items()))
    return 0


def masked(name: str, value: Any) -> Any:
    """A value as it may be shown: keys as `****` each (their number is kept), the password
    of a database URL as `***`."""
    if name in KEYS:
        return [MASK for _ in value]
    if name in ("site_key", "openai_api_key"):
        return MASK if value else ""
    if name in ("data", "pg_read_urls"):
        return redact(value)
    return value


def line(name: str, row: dict[str, Any]) -> str:
    """`name = value   (source)`, the value written as the configuration file writes it (an
    unset one as `unset`), so a line can be copied into likewise.toml."""
    written = dump_toml({name: row["value"]}).strip() or f"{name} = unset"
    return f"{written}   ({row['source']})"
