"""Tenants: several isolated catalogs served by one server.

The server's own store is the default tenant. Every other tenant is a store of its own
(`store/tenants.py`: a folder in `<data>.tenants/`, or a PostgreSQL database) with an
Engine of its own, so its items, users, caches, trained models, reports and settings are its
own: nothing is shared but the embedding model, which is read-only.

The registry of tenants (their settings and the digests of their keys) is one blob of the
default store, `tenants`, so that every server and worker on that store sees the same
tenants: a name it does not know is looked up again before it is refused, and the registry
is read again every `REFRESH_SECONDS`, so a tenant deleted by another process is closed here
soon after. Engines are opened on first use and closed on delete and at shutdown.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from likewise.config import Settings, StoreConfig
from likewise.engine.core import Engine
from likewise.errors import ConfigError, Conflict, InvalidInput, LikewiseError, NotFound
from likewise.recommend import RECOMMENDERS, check_strategy
from likewise.store.tenants import (
    NAME,
    check_tenant,
    drop_tenant,
    location_of,
    make_tenant,
    tenant_location,
)

__all__ = [
    "NAME",
    "ROLES",
    "TENANT_KNOBS",
    "Tenants",
    "check_tenant",
    "digest",
    "knob_schemas",
    "tenant_settings",
]

BLOB = "tenants"
REFRESH_SECONDS = 2.0
ROLES = ("read", "events", "write")
KeyRole = Literal["read", "events", "write"]
# What a tenant may set for itself, by section: how its lists are made, its profiles move,
# its clicks count and its models fit. Where data lives, the keys, the limits, the model and
# when models are trained (`serve --train-every` trains the default tenant; a tenant is
# trained with `likewise train --tenant NAME`) stay the server's. Knobs whose values are
# checked against each other (the rating scale, the signals) are left out.
TENANT_KNOBS: dict[str, tuple[str, ...]] = {
    "ranking": (
        "strategy",
        "diversity",
        "diversity_method",
        "popular_by",
        "fresh_days",
        "freshness_half_life_days",
        "freshness_shape",
        "category_cap",
        "category_field",
        "category_rotation",
        "exploration",
        "cache_size",
        "cache_seconds",
    ),
    "profiles": ("alpha", "beta", "mean_n", "unknown_items"),
    "tracking": ("click_types", "conversion_types"),
    "training": ("ease_lambda", "sequence_lambda", "dense_items", "behaviour_rank"),
}
_SECTION_OF = {knob: section for section, knobs in TENANT_KNOBS.items() for knob in knobs}


def knob_schemas() -> dict[str, Any]:
    """The JSON schema of each knob a tenant may set, as its component declares it."""
    out: dict[str, Any] = {}
    for section, knobs in TENANT_KNOBS.items():
        properties = Settings.COMPONENTS[section].model_json_schema()["properties"]
        out |= {knob: properties[knob] for knob in knobs}
    out["strategy"] = {**out["strategy"], "enum": list(RECOMMENDERS)}  # a str, checked by name
    return out


def digest(key: str) -> str:
    """What the registry keeps of a key: its SHA-256 (keys are 256-bit random, so no salt
    or stretching is needed to make the digest useless to whoever reads it)."""
    return hashlib.sha256(key.encode()).hexdigest()


def tenant_settings(base: Settings, overrides: Mapping[str, Any], name: str) -> Settings:
    """The server's settings with tenant `name`'s `overrides` (flat knobs of
    `TENANT_KNOBS`) and its own store (and read replicas). Another knob, or an invalid
    value, is InvalidInput naming `settings.<knob>`."""
    if not isinstance(overrides, Mapping):
        raise InvalidInput("give the settings as an object of knobs", field="settings")
    by_section: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        section = _SECTION_OF.get(key)
        if section is None:
            allowed = ", ".join(sorted(_SECTION_OF))
            raise InvalidInput(
                f"not a setting a tenant may set; those are: {allowed}", field=f"settings.{key}"
            )
        by_section.setdefault(section, {})[key] = value
    if "strategy" in overrides:  # the ranker checks it only when the tenant's engine opens
        try:
            check_strategy(overrides["strategy"])
        except InvalidInput as exc:
            raise InvalidInput(exc.reason, field="settings.strategy") from None
    update: dict[str, Any] = {}
    for section, knobs in by_section.items():
        current = getattr(base, section)
        try:
            update[section] = type(current)(**{**current.model_dump(), **knobs})
        except LikewiseError as exc:
            raise InvalidInput(str(exc), field=f"settings.{next(iter(knobs))}") from None
    location = tenant_location(base.store.data, name)
    reads = [tenant_location(url, name) for url in base.store.read_urls()]
    store = {**base.store.model_dump(), "data": location, "pg_read_urls": ",".join(reads)}
    update["store"] = StoreConfig(**store)
    return base.model_copy(update=update)


class Tenants:
    """The tenants of the server whose own Engine is `default`, each opened on first use."""

    def __init__(self, default: Engine, settings: Settings, *, resume: bool = False) -> None:
        self.default = default
        self.resume = resume  # a server's: a tenant opened applies the pushes a crash left
        try:
            self.location = location_of(default.store)  # the store served, whatever `settings` say
            self._refused: ConfigError | None = None
        except ConfigError as exc:  # a store that cannot host tenants serves its own catalog
            self.location, self._refused = settings.store.data, exc
        self.settings = settings.model_copy(
            update={"store": StoreConfig(**{**settings.store.model_dump(), "data": self.location})}
        )
        self._lock = threading.RLock()
        self._open: dict[str, Engine] = {}
        self._made: dict[str, Any] = {}  # by open engine: its tenant's `created_at`
        self._registry: dict[str, dict[str, Any]] = {}
        self._keys: dict[str, tuple[str, KeyRole]] = {}  # digest -> (tenant, role)
        self._read_at = 0.0
        self._refresh(force=True)

    # -- the registry ------------------------------------------------------------------------

    def _refresh(self, *, force: bool = False) -> None:
        """Read the registry again if it is older than `REFRESH_SECONDS` (or `force`); close
        the engines of tenants another process deleted."""
        now = time.monotonic()
        if not force and now - self._read_at < REFRESH_SECONDS:
            return
        raw = self.default.store.get_blob(BLOB)
        registry: dict[str, dict[str, Any]] = json.loads(raw) if raw else {}
        with self._lock:
            self._registry = registry
            self._keys = {
                d: (name, role)
                for name, entry in registry.items()
                for d, role in entry.get("keys", {}).items()
            }
            self._read_at = now
            # Gone, or deleted and made again (a new store under the same name).
            gone = [
                name
                for name in self._open
                if name not in registry or registry[name].get("created_at") != self._made.get(name)
            ]
        for name in gone:
            self._close(name)

    def _change(self, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Write the registry as `change` makes it from the registry as it is in the store,
        read and written in one exclusive transaction: another server's change meanwhile
        is kept (and `change` sees it, to refuse a name it took)."""

        def changed(raw: bytes | None) -> bytes:
            return json.dumps(change(json.loads(raw) if raw else {}), sort_keys=True).encode()

        try:
            self.default.store.update_blob(BLOB, changed)
        finally:
            self._refresh(force=True)

    def names(self) -> list[str]:
        """Every tenant's name, sorted."""
        self._refresh()
        return sorted(self._registry)

    def describe(self) -> list[dict[str, Any]]:
        """Every tenant: name, settings overrides, creation time (never its keys)."""
        self._refresh()
        return [
            {"name": n, "settings": e.get("settings", {}), "created_at": e.get("created_at")}
            for n, e in sorted(self._registry.items())
        ]

    def known(self, name: str) -> bool:
        """Whether tenant `name` exists (asked again of the store when this server has not
        heard of it: another server may have just created it)."""
        self._refresh()
        if name not in self._registry:
            self._refresh(force=True)
        return name in self._registry

    def current(self, name: str) -> bool:
        """Whether the engine open here for tenant `name` is still that tenant's (neither
        deleted nor deleted and made again since), read from the store now; the engine is
        left open (a long-running command stops on it and closes it)."""
        raw = self.default.store.get_blob(BLOB)
        registry: dict[str, Any] = json.loads(raw) if raw else {}
        if name not in registry or name not in self._open:
            return False
        return bool(registry[name].get("created_at") == self._made.get(name))

    def key_owner(self, key: str) -> tuple[str, KeyRole] | None:
        """The tenant and role a tenant key grants, or None (not a tenant's key)."""
        self._refresh()
        return self._keys.get(digest(key))

    # -- engines -----------------------------------------------------------------------------

    def engine(self, name: str) -> Engine:
        """Tenant `name`'s Engine, opened on first use; NotFound naming `tenant` if there is
        no such tenant."""
        check_tenant(name)
        self._refresh()  # closes the engine of a tenant another process deleted
        engine = self._open.get(name)
        if engine is not None:
            return engine
        if not self.known(name):
            raise NotFound("tenant", name, field="tenant")
        with self._lock:
            engine = self._open.get(name)
            if engine is None:
                engine = self._opened(name, self._registry[name].get("settings", {}))
                self._open[name] = engine
                self._made[name] = self._registry[name].get("created_at")
                if self.resume and engine.feed_status(failures=0).pending:
                    engine.follow_pushes()  # as the server does its own at startup
            return engine

    def _opened(self, name: str, overrides: Mapping[str, Any]) -> Engine:
        if self._refused is not None:
            raise self._refused
        settings = tenant_settings(self.settings, overrides, name)
        return Engine.open(settings.store.data, embedder=self.default.embedder, settings=settings)

    def create(self, name: str, settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Create tenant `name` with its settings overrides; returns its name, settings and
        its new keys, one of each role (shown once: only their digests are kept). Conflict
        if it exists."""
        check_tenant(name)
        overrides = dict(settings or {})
        tenant_settings(self.settings, overrides, name)  # refused before anything is made
        with self._lock:
            self._refresh(force=True)
            if name in self._registry:
                raise Conflict(f"tenant {name!r} exists", field="tenant")
            if self._refused is not None:
                raise self._refused
            make_tenant(self.location, name)
            self._open[name] = self._opened(name, overrides)
            keys = {role: f"lw_{name}_{role}_{secrets.token_urlsafe(32)}" for role in ROLES}
            entry = {
                "settings": overrides,
                "keys": {digest(k): role for role, k in keys.items()},
                "created_at": time.time(),
            }
            self._made[name] = entry["created_at"]

            def add(registry: dict[str, Any]) -> dict[str, Any]:
                if name in registry:  # another server made it meanwhile
                    raise Conflict(f"tenant {name!r} exists", field="tenant")
                return {**registry, name: entry}

            try:
                self._change(add)
            except Conflict:
                self._close(name)
                raise
        return {"name": name, "settings": overrides, "keys": keys}

    def delete(self, name: str) -> None:
        """Delete tenant `name`: out of the registry first (no one opens it again), its
        engine closed, then its store and all its data. NotFound if there is none."""
        check_tenant(name)
        with self._lock:
            self._refresh(force=True)
            if name not in self._registry:
                raise NotFound("tenant", name, field="tenant")
            jobs = self._digest_folder(name)

            def remove(registry: dict[str, Any]) -> dict[str, Any]:
                if name not in registry:  # another server deleted it meanwhile
                    raise NotFound("tenant", name, field="tenant")
                return {k: v for k, v in registry.items() if k != name}

            self._change(remove)
            self._close(name)
            drop_tenant(self.location, name)
            if jobs is not None:  # outside the store on PostgreSQL: a tenant made again
                shutil.rmtree(jobs, ignore_errors=True)  # under the name would find them

    def _digest_folder(self, name: str) -> Path | None:
        """The folder of tenant `name`'s digest jobs (None if its store cannot be opened)."""
        try:
            return self.engine(name)._jobs_folder()
        except LikewiseError:
            return None

    def _close(self, name: str) -> None:
        with self._lock:
            engine = self._open.pop(name, None)
            self._made.pop(name, None)
        if engine is not None:
            engine.close()

    def close(self) -> None:
        """Close every open tenant's engine (the default engine is its owner's)."""
        for name in list(self._open):
            self._close(name)
