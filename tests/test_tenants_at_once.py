"""Two servers on one store creating tenants at the same time keep every one: the registry
is read and written in one exclusive transaction, so neither's write drops the other's."""

from __future__ import annotations

import threading

from likewise import Engine, Settings
from likewise.engine.tenants import Tenants


def test_tenants_created_at_once_by_two_servers_are_all_kept(location: str) -> None:
    settings = Settings(data=location, model="hashing-64")
    a, b = Engine.open(location, settings=settings), Engine.open(location, settings=settings)
    with a, b:
        servers = [Tenants(a, settings), Tenants(b, settings)]
        made: list[str] = []
        failed: list[BaseException] = []

        def create(tenants: Tenants, prefix: str) -> None:
            try:
                for k in range(3):
                    made.append(tenants.create(f"{prefix}{k}")["name"])
            except BaseException as exc:  # shown by the assertion below
                failed.append(exc)

        threads = [
            threading.Thread(target=create, args=(t, p)) for t, p in zip(servers, "ab", strict=True)
        ]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
            assert not failed, failed
            assert Tenants(a, settings).names() == sorted(made) and len(made) == 6
        finally:
            for name in Tenants(a, settings).names():
                servers[0].delete(name)
            for tenants in servers:
                tenants.close()
