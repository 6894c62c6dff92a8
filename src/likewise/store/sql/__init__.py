"""The SQL both stores share, split by job: activity (events, profiles, popularity), reports
(impressions, CTR, activity), transfer (the copy format); `SqlActivity` runs them."""

from likewise.store.sql.base import SqlActivity
from likewise.store.sql.query import Dialect, Sql
from likewise.store.sql.transfer import TABLES

__all__ = ["TABLES", "Dialect", "Sql", "SqlActivity"]
