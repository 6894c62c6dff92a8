"""The base of every component's config: typed, unknown keys refused, read from the
constructor, the environment and the configuration file, and a bad value reported as a
:class:`ConfigError` naming the setting (and the file, when a file gave it)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from likewise.config.env import SecretFiles, from_env
from likewise.config.toml import TomlFile, origin
from likewise.errors import ConfigError

__all__ = ["Component", "config_error", "sections"]


class Component(BaseSettings):
    """A component's config: typed, unknown keys refused, each field read from, highest
    first, the constructor (flags), `LIKEWISE_<FIELD>` or `LIKEWISE_<FIELD>_FILE`, the
    configuration file (flat, or in the table named `section`), and its default. A bad value
    is a :class:`ConfigError` that names the setting."""

    model_config = SettingsConfigDict(env_prefix="LIKEWISE_", extra="forbid")
    section: ClassVar[str] = ""  # its table in likewise.toml; "" reads no file

    def __init__(self, **values: Any) -> None:
        def where(name: str) -> str:
            try:
                return origin(name, sections(), values)
            except ConfigError:  # the source itself was the problem: its error says so
                return ""

        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise config_error(exc, where) from None
        except ConfigError as exc:  # a validator's own check (a blank key, the rating scale)
            raise located(exc, where) from None
        except SettingsError as exc:  # a list or table variable whose text is not JSON
            raise not_json(exc, where) from None
        except RecursionError:  # the same, nested deeper than the JSON parser's stack
            name = deepest(type(self))
            raise ConfigError(
                f"setting {name} ({where(name)}): not valid JSON: nested too deep", field=name
            ) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags over the environment (a variable or its `_FILE`) over the file."""
        return (
            init_settings,
            env_settings,
            SecretFiles(settings_cls, env_prefix="LIKEWISE_"),
            TomlFile(settings_cls, cls.section, sections()),
        )


def sections() -> dict[str, list[str]]:
    """Every component's table and its knobs: the keys a configuration file may hold."""
    found: dict[str, list[str]] = {}
    kinds: list[type[Component]] = [Component]
    while kinds:
        kind = kinds.pop()
        kinds.extend(kind.__subclasses__())
        if kind.section:
            found[kind.section] = list(kind.model_fields)
    return found


def located(exc: ConfigError, where: Callable[[str], str]) -> ConfigError:
    """`exc` ("setting NAME: ...") naming the file that gave NAME, when a file did."""
    found = re.match(r"setting (\w+): ", str(exc))
    source = where(found[1]) if found is not None else ""
    if found is None or not source.startswith("file "):
        return exc
    return ConfigError(f"setting {found[1]} ({source}): {str(exc)[found.end() :]}", field=found[1])


def not_json(exc: SettingsError, where: Callable[[str], str]) -> ConfigError:
    """A list or table setting (`write_keys`, `signals`) whose variable, or `_FILE`, does not
    hold JSON: pydantic-settings' "error parsing value for field ..." as an error naming the
    setting and the variable (never the value: it may be a key)."""
    found = re.search(r'field "(\w+)"', str(exc))
    name = found[1] if found is not None else "settings"
    source = where(name) if found is not None else ""
    cause = exc.__cause__
    if isinstance(cause, json.JSONDecodeError):
        reason = f"{cause.msg} (column {cause.colno})"
    else:  # an integer of more digits than int() reads: says so, without the value
        reason = str(cause or exc)
    named = f"{name} ({source})" if source else name
    return ConfigError(
        f"setting {named}: not valid JSON: {reason}; a list or table is given as JSON, "
        'e.g. ["k1", "k2"] or {"view": 0.2}',
        field=name,
    )


def deepest(kind: type[Component]) -> str:
    """The setting of `kind` whose variable (or `_FILE`) opens the most brackets: the one
    the JSON parser ran out of stack on."""
    texts = {name: from_env(name) for name in kind.model_fields}
    opened = {n: t[0].count("[") + t[0].count("{") for n, t in texts.items() if t is not None}
    return max(opened, key=lambda n: opened[n], default="settings")


def config_error(exc: ValidationError, where: Callable[[str], str] | None = None) -> ConfigError:
    """The first problem of a settings validation, naming the setting, and the file that
    gave it when `where` (the setting's origin) says a file did."""
    first = exc.errors()[0]
    name = ".".join(str(p) for p in first["loc"]) or "settings"
    source = where(str(first["loc"][0])) if where is not None and first["loc"] else ""
    named = f"{name} ({source})" if source.startswith("file ") else name
    return ConfigError(f"setting {named}: {first['msg']}", field=name)
