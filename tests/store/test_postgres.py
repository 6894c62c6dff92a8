"""The PostgreSQL store passes the shared contract on a real server, agrees with the embedded
store, and keeps concurrent writers from losing updates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from likewise.store import EmbeddedStore, open_store
from likewise.store.postgres import PostgresStore
from likewise.testing import StoreContract
from likewise.testing.contract import INFO, axis, entry


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def open_store(self, pg_url: str):  # type: ignore[no-untyped-def]
        return lambda: PostgresStore(pg_url)
