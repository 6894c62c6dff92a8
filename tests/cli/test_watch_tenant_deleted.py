"""`likewise --tenant NAME watch` stops when the tenant is deleted (by a server or another
command): it went on applying drops into the deleted store, where they were lost."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from likewise import Engine, Settings
from likewise.engine.tenants import Tenants

Run = Callable[..., tuple[int, str, str]]  # the `run` fixture of conftest.py


def test_watch_stops_when_its_tenant_is_deleted(location: str, tmp_path: Path, run: Run) -> None:
    data = location
    settings = Settings(data=data, model="hashing-64")
    with Engine.open(data, settings=settings) as default:
        made = Tenants(default, settings)
        made.create("ta")
        made.close()  # create opens the tenant's engine: closed, or its threads outlive the test
    drops = tmp_path / "drops"
    drops.mkdir()

    def delete() -> None:
        with Engine.open(data, settings=settings) as default:
            tenants = Tenants(default, settings)
            tenants.delete("ta")
            tenants.close()

    deleting = threading.Timer(0.5, delete)
    # A bound on a hang: SIGTERM stops a watch that did not stop by itself.
    hung = threading.Timer(30, lambda: os.kill(os.getpid(), signal.SIGTERM))
    deleting.start()
    hung.start()
    started = time.monotonic()
    try:
        code, _, err = run(data, "--tenant", "ta", "watch", "--folder", str(drops))
    finally:
        hung.cancel()
        deleting.join()
    assert time.monotonic() - started < 25, "the watch went on after its tenant was deleted"
    assert code != 0 and "ta" in err and "deleted" in err, err
