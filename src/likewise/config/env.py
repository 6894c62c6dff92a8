"""Settings from the environment: `LIKEWISE_<NAME>`, or `LIKEWISE_<NAME>_FILE` naming a file
that holds the value, so a secret (a key list, a database URL with its password) can come from
a mounted file (`/run/secrets/...`) instead of the environment, where every child process and
`ps e` would see it.

A file's text is read as the variable's would be (JSON for lists and tables), without its
trailing newline. The two forms of one setting are one level of precedence: giving both is an
error, since which one was meant cannot be guessed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic_settings import EnvSettingsSource

from likewise.errors import ConfigError

__all__ = ["PREFIX", "SecretFiles", "from_env"]

PREFIX = "LIKEWISE_"


def _variables() -> dict[str, tuple[str, str]]:
    """`LIKEWISE_*` variables by upper-case name: (the name as set, its value). Names are
    matched without regard to case, as pydantic-settings matches the plain variables."""
    return {
        name.upper(): (name, value)
        for name, value in os.environ.items()
        if name.upper().startswith(PREFIX)
    }


def from_env(
    name: str, found: Mapping[str, tuple[str, str]] | None = None
) -> tuple[str, str] | None:
    """The text of setting `name` from the environment and where it came from
    (`env LIKEWISE_X` or `file LIKEWISE_X_FILE=/path`), or None when neither is set.
    `found`: the variables, when the caller has read them already."""
    found = _variables() if found is None else found
    plain = found.get(f"{PREFIX}{name.upper()}")
    secret = found.get(f"{PREFIX}{name.upper()}_FILE")
    if secret is None:
        return None if plain is None else (plain[1], f"env {plain[0]}")
    variable, path = secret
    text = _read(name, variable, path)
    if plain is not None:
        if plain[1] == text:
            # The same value given both ways is not a choice between two.
            return plain[1], f"env {plain[0]}"
        raise ConfigError(
            f"setting {name}: both {plain[0]} and {variable} are set; give one of them",
            field=name,
        )
    return text, f"file {variable}={path}"


def _read(name: str, variable: str, path: str) -> str:
    """The file's text without its trailing newline, or an error naming variable and path."""
    if not path:
        raise ConfigError(
            f"setting {name}: {variable} is empty; give the path of a file", field=name
        )
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().rstrip("\r\n")
    except UnicodeDecodeError:
        raise ConfigError(
            f"setting {name}: {variable}={path} is not UTF-8 text", field=name
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"setting {name}: {variable}={path}: {reason.lower()}", field=name
        ) from None


class SecretFiles(EnvSettingsSource):
    """The `LIKEWISE_<NAME>_FILE` source: the files' texts, parsed exactly as pydantic-settings
    parses the variables (it is its environment source, shown the files instead)."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        variables = _variables()
        texts: dict[str, str | None] = {}
        for name in self.settings_cls.model_fields:
            if f"{PREFIX}{name.upper()}_FILE" not in variables:
                continue
            found = from_env(name, variables)  # also refuses a setting given both ways
            if found is not None and found[1].startswith("file "):
                texts[f"{PREFIX}{name}".lower()] = found[0]
        return texts
