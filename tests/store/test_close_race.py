"""Closing an embedded store while another thread is mid-statement on it (a forget's
checkpoint retried in the background, say) waits for the statement instead of closing the
connection under it, which crashed the interpreter (a segmentation fault, found by a full run
of the suite)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import likewise

SCRIPT = """
import sys, threading, time
from likewise.store import open_store
from likewise.store.base import StoreInfo
store = open_store(sys.argv[1])
store.initialize(StoreInfo("hashing-8", 8, "cosine", "title"))
outcome = []
def slow():
    with store._reading() as db:  # about half a second of one statement
        outcome.append(db.execute(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) "
            "SELECT count(*) FROM c").fetchone()[0])
reader = threading.Thread(target=slow)
reader.start()
time.sleep(0.1)
store.close()
reader.join()
print(outcome)
"""


def test_close_waits_for_a_statement_under_way(tmp_path: Path) -> None:
    source = str(Path(likewise.__file__).parents[1])
    for attempt in range(3):  # the crash came 2 times in 3 before the fix
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(tmp_path / f"store{attempt}")],
            capture_output=True,
            text=True,
            timeout=120,
            env={"PYTHONPATH": source, "PATH": "/usr/bin:/bin"},
        )
        assert (done.returncode, done.stdout.strip()) == (0, "[3000000]"), done.stderr
