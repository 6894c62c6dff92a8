"""The configuration file: TOML with the settings' own names (`alpha = 0.3`,
`write_keys = ["k1"]`, `hybrid_weights = {collaborative = 1.0}`), flat or in a table per
component (`[ranking]` then `cache_size = 0`).

It is the file `LIKEWISE_CONFIG` names (the CLI's `--config` sets it, so `serve --workers N`
hands it to every worker), else `likewise.toml` in the data directory. It sits below the
environment and the flags: an operator keeps the lasting choices in it and overrides one for a
run without editing it. A file in the data directory may not set `data`: the directory was
already chosen to find the file.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, InitSettingsSource

from likewise.config.env import from_env
from likewise.errors import ConfigError

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_DATA",
    "FILE_NAME",
    "TomlFile",
    "dump_toml",
    "in_data_dir",
    "locate",
    "origin",
    "read",
]

CONFIG_ENV = "LIKEWISE_CONFIG"
FILE_NAME = "likewise.toml"
DEFAULT_DATA = "./likewise-data"

Sections = Mapping[str, Collection[str]]  # component ("ranking") -> its knobs


def in_data_dir(data: str) -> Path | None:
    """`likewise.toml` in the data directory `data`, if there is one (a database URL has
    none)."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", data) and not data.startswith("file://"):
        return None
    path = Path(data.removeprefix("file://")).expanduser().absolute() / FILE_NAME
    return path if path.is_file() else None


def locate(data: str | None = None) -> tuple[Path, bool] | None:
    """The configuration file and whether it is the data directory's own: the one
    `LIKEWISE_CONFIG` names (set but empty: none), else `likewise.toml` in `data` (by default
    the `data` setting of the environment, else the default directory), else None."""
    named = os.environ.get(CONFIG_ENV)
    if named == "":
        return None
    if named is not None:
        path = Path(named).expanduser().absolute()
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV}: no configuration file at {path}")
        return path, False
    if data is None:
        found = from_env("data")
        data = found[0] if found is not None else DEFAULT_DATA
    own = in_data_dir(data)
    return None if own is None else (own, True)


def read(path: Path, sections: Sections, *, own: bool = False) -> dict[str, Any]:
    """The file's settings, flat (`{"cache_size": 0}`), checked against `sections`: an
    unknown key, a knob in another component's table, a knob given twice, a syntax error, or
    (`own`: the data directory's file) `data`, is an error naming the file. Read at each
    use (a small file parses in well under a millisecond), so an edit is never missed."""
    try:
        with path.open("rb") as file:
            raw = tomllib.load(file)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {_where(str(exc))}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path}: not UTF-8 text") from None
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        raise ConfigError(f"config file {path}: {reason}") from None
    values = _flatten(raw, sections, path)
    if own and "data" in values:
        raise ConfigError(
            f"config file {path}: `data` may not be set in the data directory's own file (it "
            "was found there); give --data, LIKEWISE_DATA, or a file named by --config"
        )
    return values


def _where(message: str) -> str:
    """tomllib's "... (at line 3, column 7)" as "line 3: ... (column 7)"."""
    found = re.search(r"\(at line (\d+), column (\d+)\)$", message)
    if found is None:
        return message
    return f"line {found[1]}: {message[: found.start()].rstrip()} (column {found[2]})"


def _flatten(raw: Mapping[str, Any], sections: Sections, path: Path) -> dict[str, Any]:
    owner = {knob: name for name, knobs in sections.items() for knob in knobs}
    values: dict[str, Any] = {}

    def add(knob: str, value: Any, table: str = "") -> None:
        if knob in values:
            raise ConfigError(f"config file {path}: {knob} is given twice (flat and in a table)")
        if table and owner.get(knob) != table:
            raise ConfigError(
                f"config file {path}: [{table}] has no setting {knob!r}{_hint(knob, owner)}"
            )
        values[knob] = value

    for key, value in raw.items():
        if key in sections:
            if not isinstance(value, dict):
                raise ConfigError(f"config file {path}: {key} must be a table ([{key}])")
            for knob, inner in value.items():
                add(knob, inner, key)
        elif key in owner:
            add(key, value)
        else:
            raise ConfigError(f"config file {path}: unknown setting {key!r}{_hint(key, owner)}")
    return values


def _hint(key: str, owner: Mapping[str, str]) -> str:
    """Where a misplaced or misspelt key belongs, when that can be seen."""
    if key in owner:
        return f"; it is a setting of [{owner[key]}] (or give it at the top)"
    bare = key.lower().removeprefix("likewise_")
    if bare in owner:
        return f"; write {bare!r}: the setting's name, in lower case, without LIKEWISE_"
    close = difflib.get_close_matches(bare, list(owner), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


class TomlFile(InitSettingsSource):
    """The configuration file as a pydantic-settings source: the knobs of `settings_cls`
    (the component whose table is `section`) that the file sets."""

    def __init__(self, settings_cls: type[BaseSettings], section: str, sections: Sections):
        found = locate() if section else None
        values = {} if found is None else read(found[0], sections, own=found[1])
        own = {k: v for k, v in values.items() if k in sections.get(section, ())}
        super().__init__(settings_cls, own)


def origin(name: str, sections: Sections, given: Collection[str] = ()) -> str:
    """Where setting `name` comes from, highest first: `flag` (given to the constructor),
    `env LIKEWISE_X`, `file LIKEWISE_X_FILE=/path`, `file /path/likewise.toml`, `default`."""
    if name in given:
        return "flag"
    found = from_env(name)
    if found is not None:
        return found[1]
    file = locate()
    if file is not None and name in read(file[0], sections, own=file[1]):
        return f"file {file[0]}"
    return "default"


def dump_toml(values: Mapping[str, Any]) -> str:
    """Settings as the configuration file writes them, one `name = value` a line (a value of
    None, unset, is left out: TOML has no null). `tomllib.loads` reads back `values`.

    Example:
        >>> print(dump_toml({"alpha": 0.3, "hybrid_weights": {"content": 1.0}}), end="")
        alpha = 0.3
        hybrid_weights = {content = 1.0}
    """
    return "".join(f"{_key(k)} = {_value(v)}\n" for k, v in values.items() if v is not None)


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _string(key)


def _string(text: str) -> str:
    # JSON's escapes are TOML's, except that TOML also wants DEL escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items())
        return f"{{{inner}}}" if inner else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise ConfigError(f"{type(value).__name__} {value!r} has no TOML form")
