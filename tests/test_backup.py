"""`likewise backup` and `likewise restore` on real stores: a backup taken while a real
`likewise serve` process records a stream of events holds every event acknowledged before it
started and none sent after its snapshot; a restored store answers as its source did; a damaged
backup or an occupied target is refused, and a failed restore leaves the target as it was.
The PostgreSQL variants are in `test_backup_postgres.py`, with these helpers."""

from __future__ import annotations

import json
import random
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.service.test_http_soak import free_port, start

from likewise import Engine
from likewise.backup import Manifest, backup_store, restore_store, verify_backup
from likewise.cli.main import main
from likewise.errors import InvalidInput, StoreError
from likewise.store import open_store

TOPICS = {
    "space": ["Rocket reaches the moon", "Moon rocket launch delayed", "Astronauts walk on Mars",
              "Telescope finds a new planet", "Satellite maps the stars", "Comet passes the sun"],
    "food": ["Pasta with tomato sauce", "Tomato pasta bake", "Bread from sourdough",
             "Curry with rice", "Salad of green leaves", "Soup of pumpkin"],
    "music": ["Guitar songs for summer", "Piano concert tonight", "Jazz band on tour",
              "Drum lessons for kids", "Violin sonata recording", "Choir sings carols"],
}  # fmt: skip
CATALOG = [
    {"id": f"{topic}{k}", "title": title, "tags": [topic], "category": topic}
    for topic, titles in TOPICS.items()
    for k, title in enumerate(titles)
]
USERS = [f"u{k}" for k in range(9)]


def fill(location: str, *, events: int = 60, train: bool = True) -> None:
    """The catalog, clicks and likes of users who each keep to one topic, and trained models
    (their blobs and the `behaviour` space are restored too)."""
    rng = random.Random(3)
    with Engine.open(location, model="hashing-64") as engine:
        engine.add_items(CATALOG)
        topics = list(TOPICS)
        engine.record_many(
            {
                "user_id": (user := rng.choice(USERS)),
                "item_id": f"{topics[int(user[1:]) % 3]}{rng.randrange(6)}",
                "type": rng.choice(["click", "click", "like"]),
                "event_id": f"seed{k}",
            }
            for k in range(events)
        )
        if train:
            engine.train()


def answers(location: str) -> dict[str, list[tuple[str, float]]]:
    """What a store serves: search, related items, each user's list and the popular items,
    each as long as the catalog (items the hashing embedder scores alike have no order of
    their own, so a shorter list could end in either of two tied items)."""
    n = len(CATALOG)
    with Engine.open(location) as engine:
        out = {"search": engine.search("moon rocket", n=n), "popular": engine.popular(n=n)}
        for item in ("space1", "food2", "music4"):
            out[f"similar {item}"] = engine.similar(item, n=n)
        lists = {f"recommend {u}": engine.recommend(u, n=n, track=False).items for u in USERS}
        return {
            name: sorted(((h.id, h.score) for h in hits), key=lambda h: (-round(h[1], 4), h[0]))
            for name, hits in {**out, **lists}.items()
        } | {"model": [(json.dumps(engine.model(), sort_keys=True), 0.0)]}


def assert_same(
    a: dict[str, list[tuple[str, float]]], b: dict[str, list[tuple[str, float]]]
) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert [i for i, _ in a[name]] == [i for i, _ in b[name]], name
        assert [s for _, s in a[name]] == pytest.approx([s for _, s in b[name]], abs=1e-5), name
        assert len(a[name]) > 1 or name == "model", name


def rows(location: str, table: str) -> list[tuple[Any, ...]]:
    store = open_store(location)
    try:
        return [row for page in store.export_rows(table) for row in page]
    finally:
        store.close()


def event_ids(location: str) -> set[str]:
    return {row[1] for row in rows(location, "events")}  # (seq, event_id, ...)


def assert_consistent(location: str) -> None:
    """Each item's popularity counts exactly its positive events up to the mark of the last
    one counted: the mark moves in the transaction that counts them, so a copy read at two
    moments would disagree while events stream in."""
    (mark,) = [seq for name, seq in rows(location, "folds") if name == "popularity"]
    counted = [row for row in rows(location, "events") if row[0] <= mark]
    positive = Counter(row[3] for row in counted if row[-1] > 0)
    assert {row[0]: row[2] for row in rows(location, "popularity")} == dict(positive)


def leftovers(folder: Path) -> list[str]:
    """Hidden work folders a backup or restore made beside its target and did not remove."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# -- backups while a server writes ----------------------------------------------------------


class Stream(threading.Thread):
    """Batches of five clicks posted to a server until stopped. Each batch carries the phase it
    was sent in; its event ids are kept once the server acknowledged it."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base, self.phase, self.stopped = base, 0, threading.Event()
        self.acked: list[tuple[int, list[str]]] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def run(self) -> None:
        rng = random.Random(11)
        with httpx.Client(base_url=self.base, timeout=30) as http:
            for n in range(0, 10**9, 5):
                if self.stopped.is_set():
                    return
                phase = self.phase
                batch = [
                    {
                        "user_id": f"w{rng.randrange(20)}",
                        "item_id": rng.choice(CATALOG)["id"],
                        "type": "click",
                        "event_id": f"e{n + k}",
                    }
                    for k in range(5)
                ]
                r = http.post("/v1/events", json=batch)
                if r.status_code != 200 or r.json()["accepted"] != 5:
                    self.errors.append(f"{r.status_code} {r.text}")
                    continue
                with self.lock:
                    self.acked.append((phase, [e["event_id"] for e in batch]))

    def ids(self, phase: int | None = None) -> set[str]:
        with self.lock:
            return {i for p, ids in self.acked if phase in (None, p) for i in ids}

    def wait(self, phase: int) -> None:
        """Until a batch sent in `phase` is acknowledged (a hung server fails, never hangs)."""
        deadline = time.monotonic() + 60
        while not self.ids(phase):
            assert not self.errors and time.monotonic() < deadline, self.errors or "no events"
            time.sleep(0.01)


@contextmanager
def streaming(location: str, log: Path) -> Iterator[Stream]:
    port = free_port()
    server = start(location, port, log=log)
    stream = Stream(f"http://127.0.0.1:{port}")
    stream.start()
    try:
        stream.wait(0)
        yield stream
        stream.phase = 2
        stream.wait(2)  # the server still records after the backup
    finally:
        stream.stopped.set()
        stream.join(timeout=60)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert stream.errors == []


def check_restored(location: str, source: str, stream: Stream, before: set[str]) -> None:
    restored = event_ids(location)
    assert before <= restored  # every event acknowledged before the backup began
    assert not restored & stream.ids(1)  # none sent after its snapshot was taken
    assert restored <= event_ids(source)
    assert stream.ids() <= event_ids(source)  # and the server lost none meanwhile
    assert_consistent(location)


def test_embedded_backup_while_a_server_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = str(tmp_path / "data")
    fill(data, train=False)
    # One page per step: the stream commits between the steps of one backup.
    monkeypatch.setattr("likewise.backup.sqlite.PAGES", 1)

    with streaming(data, tmp_path / "server.log") as stream:

        @contextmanager
        def bars(total: int, what: str) -> Iterator[Callable[[int], object]]:
            def advance(done: int) -> None:
                if what == "backup" and stream.phase == 0:  # the first page is copied
                    stream.phase = 1
                    stream.wait(1)

            yield advance

        before = stream.ids()
        manifest = backup_store(data, tmp_path / "bk", bars=bars)
        assert stream.ids(1)  # the server committed events while the backup ran
    assert manifest.backend == "embedded" and manifest.counts["items"] == len(CATALOG)
    assert sorted(p.name for p in (tmp_path / "bk").iterdir()) == ["likewise.db", "manifest.json"]
    restore_store(tmp_path / "bk", str(tmp_path / "restored"))
    check_restored(str(tmp_path / "restored"), data, stream, before)
    assert manifest.counts["events"] == len(event_ids(str(tmp_path / "restored")))
    assert leftovers(tmp_path) == []


# -- round trips ----------------------------------------------------------------------------


def test_embedded_round_trip_by_the_cli_serves_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, bk, back = tmp_path / "data", tmp_path / "bk", tmp_path / "back"
    fill(str(data))
    code, out, err = cli("--data", str(data), "--json", "backup", str(bk), capsys=capsys)
    assert code == 0, err
    made = json.loads(out)
    assert made["backend"] == "embedded" and made["format"] == 1
    assert made["counts"] == {"items": 18, "events": 60, "users": len(USERS), "impressions": 0}
    assert made == {"destination": str(bk), **Manifest.read(bk).as_dict()}
    code, out, err = cli("restore", str(bk), "--check", capsys=capsys)
    assert code == 0 and "every checksum and count agrees" in out, err
    assert sorted(p.name for p in bk.iterdir()) == ["likewise.db", "manifest.json"]  # read only
    code, out, err = cli("--data", str(back), "restore", str(bk), capsys=capsys)
    assert code == 0 and "checksums and counts verified" in out, err
    assert (back / "index").is_dir()  # rebuilt from the rows at the restore, and saved
    assert_same(answers(str(back)), answers(str(data)))
    assert rows(str(back), "blobs") == rows(str(data), "blobs")  # the trained models


def tamper_counts(backup: Path, into: Path) -> Path:
    """A copy of a backup whose manifest claims one event more (its checksums still hold)."""
    shutil.copytree(backup, into)
    manifest = json.loads((into / "manifest.json").read_text())
    manifest["counts"]["events"] += 1
    (into / "manifest.json").write_text(json.dumps(manifest))
    return into


# -- refusals -------------------------------------------------------------------------------


@pytest.fixture
def made(tmp_path: Path) -> Path:
    """A backup of a small store (no training: these tests are about the files)."""
    fill(str(tmp_path / "data"), events=20, train=False)
    backup_store(str(tmp_path / "data"), tmp_path / "bk")
    return tmp_path / "bk"


def damage(backup: Path, into: Path, how: str) -> Path:
    shutil.copytree(backup, into)
    db = into / "likewise.db"
    content = bytearray(db.read_bytes())
    if how == "flip":
        content[len(content) // 2] ^= 0x01
    else:
        del content[-4096:]
    db.write_bytes(bytes(content))
    return into


@pytest.mark.parametrize(
    ("how", "says"),
    [
        pytest.param("flip", "fails its checksum", id="flipped-byte"),
        pytest.param("truncate", "truncated or damaged", id="truncated"),
    ],
)
def test_a_damaged_backup_is_refused_naming_the_file(
    made: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str, says: str
) -> None:
    bad = damage(made, tmp_path / "bad", how)
    target = tmp_path / "target"
    for args in (["restore", str(bad)], ["restore", str(bad), "--check"]):
        code, out, err = cli("--data", str(target), *args, capsys=capsys)
        assert code == 1 and out == ""  # damaged data: a fault, not a bad command line
        assert err.count("\n") == 1 and str(bad / "likewise.db") in err and says in err
    assert not target.exists() and leftovers(tmp_path) == []
    # onto a store, with force: the store is left as it was
    restore_store(made, str(target))
    before = {p.name: p.read_bytes() for p in target.iterdir() if p.is_file()}
    with pytest.raises(StoreError, match=says):
        restore_store(bad, str(target), force=True)
    assert {p.name: p.read_bytes() for p in target.iterdir() if p.is_file()} == before
    assert leftovers(tmp_path) == []


def test_a_bad_manifest_is_refused_naming_it(made: Path, tmp_path: Path) -> None:
    wrong = tamper_counts(made, tmp_path / "wrong")
    with pytest.raises(StoreError, match="where the manifest says"):
        verify_backup(wrong)
    with pytest.raises(StoreError, match="where the manifest says"):
        restore_store(wrong, str(tmp_path / "target"))
    assert not (tmp_path / "target").exists() and leftovers(tmp_path) == []
    (wrong / "manifest.json").write_text('{"format": 1')
    with pytest.raises(StoreError, match=r"manifest\.json is damaged"):
        restore_store(wrong, str(tmp_path / "target"))
    (wrong / "manifest.json").write_text(json.dumps({**Manifest.read(made).as_dict(), "format": 2}))
    with pytest.raises(StoreError, match="format 2; this likewise reads 1"):
        restore_store(wrong, str(tmp_path / "target"))
    (wrong / "manifest.json").unlink()
    with pytest.raises(InvalidInput, match=r"has no manifest\.json") as missing:
        restore_store(wrong, str(tmp_path / "target"))
    assert missing.value.field == "source"


def test_restore_onto_a_store_needs_force(
    made: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "target"
    Engine.open(str(target), model="hashing-64").close()  # an empty store is still a store
    code, _, err = cli("--data", str(target), "restore", str(made), capsys=capsys)
    assert code == 2 and err.count("\n") == 1 and f"{target} is not empty" in err
    assert event_ids(str(target)) == set()
    code, _, err = cli("--data", str(target), "restore", str(made), "--force", capsys=capsys)
    assert code == 0, err
    assert event_ids(str(target)) == event_ids(str(tmp_path / "data"))
    assert leftovers(tmp_path) == []
    # --force replaces a store, never a folder of something else
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(InvalidInput, match="is not a likewise store"):
        restore_store(made, str(other), force=True)
    assert [p.name for p in other.iterdir()] == ["notes.txt"]


def test_a_bad_destination_is_named(
    made: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "data")
    (tmp_path / "file").write_text("x")
    for dest, says in (
        (made, "exists and is not empty"),
        (tmp_path / "file", "exists and is not a folder"),
        (tmp_path / "file" / "bk", "cannot write to"),
    ):
        code, out, err = cli("--data", data, "backup", str(dest), capsys=capsys)
        assert code == 2 and out == "" and err.count("\n") == 1, err
        assert "field 'destination': " in err and str(dest) in err and says in err
    with pytest.raises(InvalidInput, match="no likewise store at") as nothing:
        backup_store(str(tmp_path / "nowhere"), tmp_path / "bk2")
    assert nothing.value.field == "data" and not (tmp_path / "nowhere").exists()
    assert not (tmp_path / "bk2").exists() and leftovers(tmp_path) == []
    (tmp_path / "empty").mkdir()  # an empty folder is a fine destination
    assert backup_store(data, tmp_path / "empty").counts["events"] == 20
