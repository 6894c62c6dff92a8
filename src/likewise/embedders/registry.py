"""Embedders by name, through the `likewise.embedders` entry points: likewise's own `minilm`,
`hashing-64` and `openai:<model>` are found the way a third party's are (`plugins.py` says
what an entry point provides).

A model name is an entry point's name, alone or followed by `:` or `-` and an argument for its
factory (`hashing-64`, `openai:text-embedding-3-small@256`); the longest entry point name that
fits wins, which is how `all-MiniLM-L6-v2-onnx-int8`, the id older stores record, stays a
name of its own. Finding a name reads installed metadata only: a plugin is imported when one
of its names is used, or when `likewise models` lists them, so a plugin that fails to import
harms no other model. It is named, with its cause, when used and when listed; a name two
distributions claim is refused, naming both, wherever it is used.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

from likewise.embedders.base import Embedder
from likewise.embedders.plugins import ModelInfo
from likewise.errors import ConfigError, LikewiseError

if TYPE_CHECKING:
    from likewise.config.embedding import EmbeddingConfig

__all__ = ["DEFAULT_MODEL", "GROUP", "Listed", "Plugin", "get_embedder", "installed", "listed"]

GROUP = "likewise.embedders"
DEFAULT_MODEL = "minilm"
OWN = "likewise"  # the distribution whose entry points are the built-ins


@dataclass(frozen=True)
class Plugin:
    """One entry point of the group: the name it claims, the factory it names (`module:attr`)
    and the distribution that declares it."""

    name: str
    value: str
    distribution: str
    version: str
    entry: metadata.EntryPoint = field(compare=False, repr=False)

    @property
    def label(self) -> str:
        return f"{self.name!r} ({self.distribution} {self.version})"

    def load(self) -> Callable[..., object]:
        """The factory, imported now; a plugin that cannot be is a ConfigError with the cause."""
        try:
            factory = self.entry.load()
        except Exception as exc:
            raise ConfigError(
                f"embedder plugin {self.label} failed to load: {type(exc).__name__}: {exc}"
            ) from exc
        if not callable(factory):
            raise ConfigError(f"embedder plugin {self.label}: {self.value} is not callable")
        return factory  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Listed:
    """One row of `likewise models`: a model name, its dimension (None: it depends on the name
    or the server), where it comes from, and why it cannot be used, if it cannot."""

    name: str
    dim: int | None
    note: str
    plugin: str
    distribution: str
    version: str
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_cache: tuple[object, dict[str, list[Plugin]]] | None = None


def installed() -> dict[str, list[Plugin]]:
    """Every entry point of the group, by name (a list: more than one is a conflict), in the
    order the metadata gives them. Read again when `sys.path` or a folder on it changes (an
    install or uninstall changes its folder), not on each call: every `Engine.open` asks."""
    global _cache
    key = tuple((path, _mtime(path)) for path in sys.path)
    if _cache is not None and _cache[0] == key:
        return _cache[1]
    table: dict[str, list[Plugin]] = {}
    for entry in metadata.entry_points(group=GROUP):
        dist = entry.dist
        name, version = (dist.name, dist.version) if dist is not None else ("unknown", "?")
        plugin = Plugin(entry.name, entry.value, name, version, entry)
        table.setdefault(entry.name, []).append(plugin)
    _cache = (key, table)
    return table


def _mtime(path: str) -> int:
    try:
        return os.stat(path or ".").st_mtime_ns
    except OSError:
        return 0


def resolve(name: str, table: dict[str, list[Plugin]]) -> tuple[Plugin, str]:
    """The plugin a model name reaches and the argument its factory gets, or a ConfigError:
    the name is unknown, or two distributions claim it."""
    fits = [key for key in table if name == key or name.startswith((f"{key}:", f"{key}-"))]
    if not fits:
        known = ", ".join(sorted(table, key=lambda key: key != DEFAULT_MODEL)) or "none"
        raise ConfigError(
            f"unknown model {name!r}; known: {known} (each alone, or followed by `:` or `-` "
            f"and an argument; `likewise models` lists them){missing_own(table)}"
        )
    key = max(fits, key=len)
    claims = table[key]
    if len(claims) > 1:
        raise ConfigError(f"model {name!r}: {conflict(key, claims)}")
    return claims[0], name[len(key) + 1 :]


def conflict(key: str, claims: list[Plugin]) -> str:
    both = " and ".join(f"{p.distribution} {p.version} ({p.value})" for p in claims)
    return f"the embedder name {key!r} is claimed by {both}: uninstall one"


def missing_own(table: dict[str, list[Plugin]]) -> str:
    """Why likewise's own models are not among the entry points, if they are not: its
    metadata is what registers them, so a source tree without it has none."""
    if any(p.distribution == OWN for claims in table.values() for p in claims):
        return ""
    try:
        version = metadata.version(OWN)
    except metadata.PackageNotFoundError:
        return (
            "; likewise's own models are entry points of its installed metadata, and no "
            "`likewise` distribution is installed (run from a source tree?): pip install -e ."
        )
    return (
        f"; the installed likewise {version} metadata registers no embedders (installed "
        "before they were entry points): install it again, e.g. pip install -e ."
    )


def get_embedder(name: str, *, embedding: EmbeddingConfig | None = None) -> Embedder:
    """The embedder for a model name or a store's recorded model id.

    A factory that takes `embedding` (the remote `openai:...` one) is called with it; None
    lets it read those settings from the environment (`LIKEWISE_OPENAI_*`).
    """
    table = installed()
    plugin, argument = resolve(name, table)
    factory = plugin.load()
    options = {"embedding": embedding} if takes_settings(factory) else {}
    try:
        embedder = factory(argument, **options)
    except LikewiseError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"model {name!r}: embedder plugin {plugin.label} failed: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(embedder, Embedder):
        raise ConfigError(
            f"model {name!r}: embedder plugin {plugin.label} returned "
            f"{type(embedder).__name__}, not an Embedder"
        )
    # A store records model_id and reopens with it: a name that leads elsewhere (or nowhere)
    # would leave a store nothing can open again.
    back = resolve_or_none(embedder.model_id, table)
    if back is None or (back.distribution, back.value) != (plugin.distribution, plugin.value):
        raise ConfigError(
            f"model {name!r}: embedder plugin {plugin.label} made model_id "
            f"{embedder.model_id!r}, a name that does not lead back to it, so a store made "
            "with it could not be opened again"
        )
    return embedder


def resolve_or_none(name: str, table: dict[str, list[Plugin]]) -> Plugin | None:
    try:
        return resolve(name, table)[0]
    except ConfigError:
        return None


def takes_settings(factory: Callable[..., object]) -> bool:
    """Whether a factory names a keyword parameter `embedding` (it then gets the settings)."""
    try:
        parameter = inspect.signature(factory).parameters.get("embedding")
    except (TypeError, ValueError):  # a builtin or a C callable without a signature
        return False
    keyword = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return parameter is not None and parameter.kind in keyword


def listed() -> list[Listed]:
    """Every model the installed plugins offer, likewise's own first, each factory described
    once (several entry points may name one), without building a model. A plugin that fails
    to load or describe itself is a row with its error; so is each side of a conflict."""
    table = installed()
    problem = missing_own(table)
    if problem:
        raise ConfigError(problem.removeprefix("; "))
    # likewise's own first, the default model first of all; then the shortest names, so a
    # plugin is labelled by its short name (`image`), not by the id stores record.
    order = sorted(
        table.items(),
        key=lambda kv: (kv[1][0].distribution != OWN, kv[0] != DEFAULT_MODEL, len(kv[0]), kv[0]),
    )
    rows: list[Listed] = []
    done: set[tuple[str, str]] = set()
    for key, claims in order:
        if len(claims) > 1:
            error = conflict(key, claims)
            rows += [row(p, ModelInfo(key, None), error) for p in claims]
            continue
        plugin = claims[0]
        if (plugin.distribution, plugin.value) in done:
            continue
        done.add((plugin.distribution, plugin.value))
        try:
            infos = describe(plugin)
        except ConfigError as exc:
            rows.append(row(plugin, ModelInfo(plugin.name, None), str(exc)))
            continue
        rows += [row(plugin, info, elsewhere(info.name, plugin, table)) for info in infos]
    return rows


def describe(plugin: Plugin) -> list[ModelInfo]:
    """What the plugin's factory says it offers; a ConfigError with the cause if it cannot."""
    factory = plugin.load()
    describe = getattr(factory, "describe", None)
    if describe is None:
        return [ModelInfo(plugin.name, None, "its plugin does not describe it")]
    try:
        infos = list(describe())
    except Exception as exc:
        raise ConfigError(
            f"embedder plugin {plugin.label}: describe() failed: {type(exc).__name__}: {exc}"
        ) from exc
    wrong = [info for info in infos if not isinstance(info, ModelInfo)]
    if wrong:
        raise ConfigError(
            f"embedder plugin {plugin.label}: describe() gave "
            f"{type(wrong[0]).__name__}, not ModelInfo"
        )
    return infos


def elsewhere(name: str, plugin: Plugin, table: dict[str, list[Plugin]]) -> str | None:
    """Why a concrete name a plugin lists would not reach it (a pattern such as
    `hashing-<dim>` is not checked)."""
    if "<" in name:
        return None
    back = resolve_or_none(name, table)
    if back is not None and (back.distribution, back.value) == (plugin.distribution, plugin.value):
        return None
    where = "no plugin" if back is None else back.label
    return f"embedder plugin {plugin.label} lists {name!r}, but that name leads to {where}"


def row(plugin: Plugin, info: ModelInfo, error: str | None = None) -> Listed:
    return Listed(
        info.name, info.dim, info.note, plugin.name, plugin.distribution, plugin.version, error
    )
