"""A forget on the embedded store while another connection reads an older snapshot (a
backup under way): the forget returns at once, not after SQLite's 30 s busy wait, and the
write-ahead log is emptied in the background once the reader lets go."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from likewise import Engine

USER, EMAIL = "victim-wal", "wal@example.org"


def _wal_holds(folder: Path) -> bool:
    wal = folder / "likewise.db-wal"
    data = wal.read_bytes() if wal.exists() else b""
    return USER.encode() in data or EMAIL.encode() in data


def test_forget_under_a_long_reader_clears_the_log_when_it_ends(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    with Engine.open(str(folder), model="hashing-64") as engine:
        engine.add_items([{"id": f"i{k}", "title": f"item {k}"} for k in range(5)])
        engine.record(USER, "i1", "like", context={"email": EMAIL})
        assert _wal_holds(folder)
        reader = sqlite3.connect(folder / "likewise.db")
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM events").fetchone()  # holds its snapshot
        engine.forget_user(USER)  # waits 0.2 s for the reader (it waited 30 s), then goes on
        assert _wal_holds(folder)  # the reader still needs those frames
        reader.execute("COMMIT")
        reader.close()
        deadline = time.monotonic() + 20  # the retry runs every second
        while _wal_holds(folder) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _wal_holds(folder)
