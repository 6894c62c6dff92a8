"""A tenant deleted and made again under the same name by one server is closed and opened
again by every other server on the store: none keeps serving (and writing into) the deleted
tenant's store because the name is still in the registry."""

from __future__ import annotations

import time

import pytest

from likewise import Engine, Settings
from likewise.engine import tenants as tenancy
from likewise.engine.tenants import Tenants


def test_a_tenant_made_again_elsewhere_is_opened_again_here(
    location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tenancy, "REFRESH_SECONDS", 0.05)
    settings = Settings(data=location, model="hashing-64")
    a, b = Engine.open(location, settings=settings), Engine.open(location, settings=settings)
    with a, b:
        here, there = Tenants(a, settings), Tenants(b, settings)
        try:
            here.create("x")
            old = there.engine("x")
            old.add_items([{"id": "old", "title": "old rocket"}])
            here.delete("x")
            here.create("x")
            here.engine("x").add_items([{"id": "new", "title": "new rocket"}])
            time.sleep(0.1)  # past the registry's refresh
            again = there.engine("x")
            assert again is not old
            again.add_items([{"id": "from-there", "title": "another rocket"}])
            for engine in (here.engine("x"), again):
                assert {h.id for h in engine.search("rocket", n=10)} == {"new", "from-there"}
        finally:
            for name in here.names():
                here.delete(name)
            here.close()
            there.close()
