"""The base of every component's config: typed, unknown keys refused, read from the
environment, and a bad value reported as a :class:`ConfigError` naming the setting."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from likewise.errors import ConfigError

__all__ = ["Component", "config_error"]


class Component(BaseSettings):
    """A component's config: typed, unknown keys refused, each field also read from
    `LIKEWISE_<FIELD>`. A bad value is a :class:`ConfigError` that names the setting."""

    model_config = SettingsConfigDict(env_prefix="LIKEWISE_", extra="forbid")

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise config_error(exc) from None


def config_error(exc: ValidationError) -> ConfigError:
    """The first problem of a settings validation, naming the setting."""
    first = exc.errors()[0]
    name = ".".join(str(p) for p in first["loc"]) or "settings"
    return ConfigError(f"setting {name}: {first['msg']}")
