"""Where each tenant's store lives, beside the server's own (the default tenant).

- Embedded: the folder `<data>.tenants/<name>/` beside the data folder, a store like any
  other. Beside it, not in it: `likewise restore` swaps the whole data folder for the
  backup's, which holds the default store alone, and would take every tenant with it.
- PostgreSQL: a database of its own on the same server, `<database>_t_<name>`.

A database per tenant rather than a schema: with `search_path=tenant_x,public` (public holds
pgvector's types), a query in a tenant whose schema was dropped by another process resolves
its tables in `public`, the default tenant's, and would read and write them. Its advisory
locks and LISTEN/NOTIFY channels are per database too, so in one database each would need a
tenant's salt. A database of its own has none of these: a dropped one refuses connections,
and locks, channels, migrations, backups and `likewise copy` stay per tenant unchanged. It
needs the `CREATEDB` privilege.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from likewise.errors import ConfigError, InvalidInput

__all__ = [
    "NAME",
    "check_tenant",
    "drop_tenant",
    "is_database",
    "location_of",
    "make_tenant",
    "tenant_location",
    "tenants_folder",
]

# Short enough that `<database>_t_<name>` stays within PostgreSQL's 63 bytes for a database
# name of up to 26; no dots or slashes, so it is a folder name and never a path.
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,33}")
PG_SCHEMES = ("postgresql://", "postgres://")
PG_NAME_MAX = 63


def check_tenant(name: object) -> str:
    """`name` if it is a tenant name, else InvalidInput naming `tenant`."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InvalidInput(
            "a tenant name is 1 to 34 of a-z, 0-9, _ and -, starting with a letter or digit",
            field="tenant",
        )
    return name


def location_of(store: object) -> str:
    """Where an open store lives, as it was opened: its database URL, or its folder."""
    if hasattr(store, "milvus"):  # its tenants would each need collections of their own
        raise ConfigError(
            "tenants are not supported yet with the vectors in Milvus (?vectors=...)",
            field="data",
        )
    where = getattr(store, "url", None) or getattr(store, "path", None)
    if where is None:
        raise ConfigError("this store cannot host tenants: it has no location", field="data")
    return str(where)


def is_database(location: str) -> bool:
    """Whether `location` is a PostgreSQL URL (else an embedded store's folder)."""
    return location.lower().startswith(PG_SCHEMES)


def _database(url: str) -> str:
    name = unquote(urlsplit(url).path.lstrip("/"))
    if not name:
        raise ConfigError("tenants on PostgreSQL need the database named in the URL", field="data")
    return name


def _tenant_database(url: str, name: str) -> str:
    database = f"{_database(url)}_t_{name}"
    if len(database.encode()) > PG_NAME_MAX:
        raise InvalidInput(
            f"the tenant's database {database!r} would be longer than PostgreSQL's "
            f"{PG_NAME_MAX} bytes: use a shorter name",
            field="tenant",
        )
    return database


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def tenant_location(location: str, name: str) -> str:
    """The location of tenant `name`'s store, given the server's own `location`."""
    check_tenant(name)
    if is_database(location):
        if "vectors=" in urlsplit(location).query:
            raise ConfigError(
                "tenants are not supported yet with the vectors in Milvus (?vectors=...)",
                field="data",
            )
        return _with_database(location, _tenant_database(location, name))
    return str(tenants_folder(location) / name)


def tenants_folder(location: str) -> Path:
    """The folder of an embedded store's tenants: `<data>.tenants`, beside it."""
    data = Path(location.removeprefix("file://")).resolve()
    return data.with_name(f"{data.name}.tenants")


def make_tenant(location: str, name: str) -> str:
    """Make the empty place tenant `name`'s store will be created in (a folder, or a
    database); returns its location. A leftover of a delete cut short is removed first."""
    target = tenant_location(location, name)
    if not is_database(location):
        shutil.rmtree(target, ignore_errors=True)
        Path(target).mkdir(parents=True)
        return target
    _admin(location, _tenant_database(location, name), "DROP DATABASE IF EXISTS {} WITH (FORCE)")
    _admin(location, _tenant_database(location, name), "CREATE DATABASE {}")
    return target


def drop_tenant(location: str, name: str) -> None:
    """Delete tenant `name`'s store and everything in it: the folder, or the database (its
    connections from other processes ended first)."""
    target = tenant_location(location, name)
    if not is_database(location):
        shutil.rmtree(target, ignore_errors=True)
        return
    _admin(location, _tenant_database(location, name), "DROP DATABASE IF EXISTS {} WITH (FORCE)")


def _admin(location: str, database: str, statement: str) -> None:
    """Run `statement` on `database` (quoted as an identifier) from the server's database,
    outside a transaction, as CREATE and DROP DATABASE need."""
    from psycopg import connect, sql

    with connect(location, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL(statement).format(sql.Identifier(database)))
