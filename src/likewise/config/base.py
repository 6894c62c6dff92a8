"""The base of every component's config: typed, unknown keys refused, read from the
constructor, the environment and the configuration file, and a bad value reported as a
:class:`ConfigError` naming the setting (and the file, when a file gave it)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from likewise.config.env import SecretFiles
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


def config_error(exc: ValidationError, where: Callable[[str], str] | None = None) -> ConfigError:
    """The first problem of a settings validation, naming the setting, and the file that
    gave it when `where` (the setting's origin) says a file did."""
    first = exc.errors()[0]
    name = ".".join(str(p) for p in first["loc"]) or "settings"
    source = where(str(first["loc"][0])) if where is not None and first["loc"] else ""
    named = f"{name} ({source})" if source.startswith("file ") else name
    return ConfigError(f"setting {named}: {first['msg']}", field=name)
