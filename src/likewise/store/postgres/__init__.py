"""The PostgreSQL + pgvector store (needs `pip install 'likewise[postgres]'`)."""

from likewise.store.postgres.schema import MIGRATIONS, migrate
from likewise.store.postgres.search import PgConfig
from likewise.store.postgres.store import PostgresStore

__all__ = ["MIGRATIONS", "PgConfig", "PostgresStore", "migrate"]
