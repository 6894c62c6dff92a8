"""`likewise digest --users FILE` with a bad id past the first page of users is refused
before any list is made: no --out file, nothing logged as sent (so a rerun with the file put
right leaves nothing out), and the error names the file's line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from likewise import Engine
from likewise.errors import InvalidInput

Run = Callable[..., tuple[int, str, str]]  # the `run` fixture of conftest.py


def test_a_bad_id_past_the_first_page_writes_and_logs_nothing(tmp_path: Path, run: Run) -> None:
    data = tmp_path / "data"
    users = [f"u{k:03d}" for k in range(300)]  # more than a page of the digest (256)
    with Engine.open(str(data), model="hashing-64") as engine:
        engine.add_items([{"id": f"i{k}", "title": f"story {k}"} for k in range(10)])
        engine.record_many([{"user_id": u, "item_id": "i1", "type": "like"} for u in users])
    listed = tmp_path / "users.txt"
    listed.write_text("\n".join([*users, "", "x" * 300]) + "\n")
    out = tmp_path / "weekly.jsonl"
    args = ("digest", "--name", "weekly", "--n", "2", "--users", str(listed), "--out", str(out))
    code, _, err = run(data, *args)
    assert code != 0
    assert "line 302" in err and "--users" in err, err
    assert not out.exists()
    with Engine.open(str(data)) as engine:
        reads = engine.store.digest_reads(users, sent=True)
    assert not any(reads[u].sent for u in users)  # no list logged as sent


def test_a_bad_id_past_the_first_page_of_a_list_is_refused_at_the_call(tmp_path: Path) -> None:
    data = tmp_path / "data"
    users = [f"u{k:03d}" for k in range(300)]
    with Engine.open(str(data), model="hashing-64") as engine:
        engine.add_items([{"id": f"i{k}", "title": f"story {k}"} for k in range(10)])
        engine.record_many([{"user_id": u, "item_id": "i1", "type": "like"} for u in users])
        try:
            engine.digest("weekly", 2, users=[*users, ""])
        except InvalidInput as exc:
            assert exc.field == "users[300]"
        else:
            raise AssertionError("not refused at the call")
        reads = engine.store.digest_reads(users, sent=True)
    assert not any(reads[u].sent for u in users)
