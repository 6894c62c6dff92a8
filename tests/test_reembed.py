"""`reembed` on both backends: the new model's vectors are written in durable batches beside
the old ones, search keeps answering from the old model while it runs (also after a failed
run and a kill -9 of `likewise reembed`), a second run embeds only what is left (and what
changed meanwhile), the swap is one step that other engines follow, and the index of the new
vectors is the one built during the run."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from tests.fake_openai import fake_openai

from likewise import Engine, Settings
from likewise.embedders.hashing import HashingEmbedder
from likewise.errors import Conflict, EmbedderError
from likewise.items.model import ContentTemplate, Item
from likewise.store import EmbeddedStore
from likewise.store.shadow import Shadow

WORDS = ["moon", "rocket", "pasta", "tomato", "garden", "river", "violin"]
ITEMS = [
    {
        "id": f"i{k}",
        "title": f"item {k} on {WORDS[k % 7]} and {WORDS[(k * 3) % 7]}",
        "category": "ab"[k % 2],
    }
    for k in range(60)
]
BATCH = 10
LIKED = ("i3", "i4")  # by the one user
QUERIES = ["moon rocket", "pasta with tomato", "a violin by the river"]


class Counting(HashingEmbedder):
    """A hashing model that keeps the texts it embeds, and fails once it has been called
    `stop_after` times (as a remote model that goes down midway)."""

    def __init__(
        self,
        dim: int = 32,
        stop_after: int | None = None,
        during: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(dim)
        self.texts: list[str] = []
        self.stop_after = stop_after
        self.during = during  # called at each call, before it answers

    def embed(self, texts: Sequence[str]) -> Any:
        if self.stop_after is not None and self.stop_after <= 0:
            raise EmbedderError("the test's embedder is down")
        if self.stop_after is not None:
            self.stop_after -= 1
        self.texts += list(texts)
        if self.during is not None:
            self.during()
        return super().embed(texts)


def _answers(engine: Engine) -> list[Any]:
    """What search, similar items and a "for you" list answer (see `_shape`)."""
    found: list[Any] = [_shape(engine.search(q, n=5)) for q in QUERIES]
    found += [_shape(engine.similar(i, n=5, source="content")) for i in ("i3", "i20")]
    found.append(_shape(engine.recommend("u1", n=5).items))
    return found


def _shape(hits: Sequence[Any]) -> tuple[list[float], set[str]]:
    """A list's scores, and the ids of the items scored above its last (items that tie
    with the last may take its place, in a store whose rows have moved)."""
    scores = [round(h.score, 5) for h in hits]
    return scores, {h.id for h in hits if round(h.score, 5) > scores[-1]}


def _open(location: str, model: int = 16) -> Engine:
    settings = Settings(batch_size=BATCH)
    return Engine.open(location, embedder=HashingEmbedder(model), settings=settings)


def _fill(location: str) -> list[Any]:
    """The catalog and one user's likes, in a store of the hashing-16 model; its answers."""
    with _open(location) as engine:
        engine.add_items(ITEMS)
        engine.record_many([{"user_id": "u1", "item_id": i, "type": "like"} for i in LIKED])
        return _answers(engine)


def _check_new_model(engine: Engine, dim: int) -> None:
    """Every item's text vector is the new model's of its current text, and queries are
    embedded by it: search answers as a brute force over those vectors does."""
    template = ContentTemplate.parse(engine.stats()["template"])
    items: list[Item] = engine.get_many(engine.ids())
    model = HashingEmbedder(dim)
    expected = model.embed([template.render(i) for i in items])
    stored = engine.vectors([i.id for i in items])
    assert np.allclose(np.stack([stored[i.id] for i in items]), expected, atol=1e-5)
    for query in QUERIES:  # the best scores, each its item's (items may tie)
        scores = dict(zip([i.id for i in items], expected @ model.embed([query])[0], strict=True))
        hits = engine.search(query, n=3)
        assert [h.score for h in hits] == pytest.approx(sorted(scores.values())[::-1][:3])
        assert [h.score for h in hits] == pytest.approx([scores[h.id] for h in hits])


def test_a_stopped_reembed_keeps_the_old_model_and_the_next_run_continues(
    location: str, tmp_path: Path
) -> None:
    before = _fill(location)
    with _open(location) as engine:
        stopped = Counting(stop_after=2)
        with pytest.raises(EmbedderError, match="down"):
            engine.reembed(stopped)
        assert len(stopped.texts) == 2 * BATCH
        assert engine.stats()["model"] == "hashing-16"
        assert _answers(engine) == before  # still the old vectors and the old query model
        # Meanwhile: an item done is given new text, another new metadata, a third is
        # deleted, and an item is added. Ids go in sorted order: i0, i1, i10 ... i17 first.
        renamed = {**ITEMS[0], "title": "a violin concert on the moon"}
        engine.add_items([renamed, {**ITEMS[1], "category": "z"}, {"id": "new", "title": "river"}])
        engine.delete(["i10"])
        assert _answers(engine)[:3] != before[:3]  # the catalog changed, still answering

    with _open(location) as engine:  # another process continues it
        again = Counting()
        done = engine.reembed(again)
        embedded = [t.split("\n")[0] for t in again.texts]
        assert done == len(again.texts) == 60 - 2 * BATCH + 2
        assert renamed["title"] in embedded and "river" in embedded
        assert ITEMS[1]["title"] not in embedded  # metadata only: its new vector was kept
        assert engine.stats()["model"] == "hashing-32"
        assert engine.spaces()["text"].dim == 32
        _check_new_model(engine, 32)
        assert [h.id for h in engine.search("item", n=5, where={"category": "z"})] == ["i1"]
        assert engine.count() == 60
        # The user's profile was rebuilt in the new model: their list is the one a store
        # made with it from the start gives, and their next event is taken.
        with Engine.open(str(tmp_path / "ref"), embedder=HashingEmbedder(32)) as ref:
            ref.add_items([i.to_record() for i in engine.get_many(engine.ids())])
            ref.record_many([{"user_id": "u1", "item_id": i, "type": "like"} for i in LIKED])
            assert _shape(engine.recommend("u1", n=5).items) == _shape(
                ref.recommend("u1", n=5).items
            )
        engine.record("u1", "i5", "like")
        assert engine.recommend("u1", n=3).items
    with Engine.open(location) as reopened:  # the store's model now: hashing-32
        _check_new_model(reopened, 32)


def test_items_written_during_a_run_are_embedded_before_the_swap(location: str) -> None:
    """Another engine writes while the run embeds: an item changed while its batch was being
    embedded (i0), one changed after its batch was written (i1), one added, and deleted ones
    done (i12) and not yet read (i50). The swap waits for all of them."""
    _fill(location)
    with _open(location) as engine, _open(location) as other:
        calls = 0

        def meanwhile() -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                other.add_items([{**ITEMS[0], "title": "changed in flight"}])
            if calls == 3:
                changed = {**ITEMS[1], "title": "changed after"}
                other.add_items([changed, {"id": "added", "title": "added"}])
                other.delete(["i12", "i50"])

        running = Counting(during=meanwhile)
        done = engine.reembed(running)
        embedded = [t.split("\n")[0] for t in running.texts]
        assert embedded.count(ITEMS[0]["title"]) == 1  # read, then changed before written
        assert {"changed in flight", "changed after", "added"} <= set(embedded)
        assert ITEMS[50]["title"] not in embedded
        assert done == len(running.texts) == 60 + 3 - 1  # i50 never; i0, i1 twice; added
        assert engine.count() == 59
        _check_new_model(engine, 32)
        _check_new_model(other, 32)


def test_a_reembed_of_another_model_is_refused_until_restart(location: str, tmp_path: Path) -> None:
    _fill(location)
    with _open(location) as engine:
        with pytest.raises(EmbedderError):
            engine.reembed(Counting(stop_after=1))
        with pytest.raises(Conflict, match="hashing-32 is unfinished") as refused:
            engine.reembed(Counting(dim=24))
        assert refused.value.field == "model"
    code, err = _cli(location, "reembed", "--model", "hashing-24")
    assert code == 2
    assert err.strip().splitlines()[-1].startswith("error: ")
    assert "hashing-32 is unfinished" in err and "--restart" in err
    with _open(location) as engine:
        assert engine.stats()["model"] == "hashing-16"
        restarted = Counting(dim=24)
        assert engine.reembed(restarted, restart=True) == 60 == len(restarted.texts)
        _check_new_model(engine, 24)


def _cli(location: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "likewise.cli.main", "--data", location, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    return proc.returncode, proc.stderr


def test_a_killed_reembed_process_leaves_search_working_and_is_continued(location: str) -> None:
    """`likewise reembed` against an embedding server that stops answering after two
    requests (one per batch): killed -9 while it waits for the third, it has written two
    batches, the old model answers as before, and the next run sends only the rest."""
    before = _fill(location)
    gate = threading.Event()
    with fake_openai() as fake:

        def hold(_: str) -> bool:
            if len(fake.requests) > 2:
                gate.wait(60)  # the third request waits until the test lets it go
            return False

        fake.fail_when = hold
        env = {
            **os.environ,
            "LIKEWISE_OPENAI_BASE_URL": fake.url,
            "LIKEWISE_OPENAI_CONCURRENCY": "1",
            "LIKEWISE_BATCH_SIZE": str(BATCH),
        }
        command = [sys.executable, "-m", "likewise.cli.main", "--data", location, "reembed"]
        primary, secondary = pty.openpty()  # a terminal on stderr: tqdm draws its bar
        fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        try:
            with subprocess.Popen(
                [*command, "--model", "openai:fake@16"], stderr=secondary, env=env
            ) as proc:
                deadline = time.monotonic() + 120
                while len(fake.requests) < 3 and proc.poll() is None:
                    assert time.monotonic() < deadline, "reembed never sent its third request"
                    time.sleep(0.05)
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=60)
            bar = _read(primary)
            sent = len(fake.inputs)  # the answered requests: not the third, held
        finally:
            gate.set()
            os.close(primary)
            os.close(secondary)
        assert proc.returncode == -signal.SIGKILL
        assert "reembed with openai:fake@16" in bar and "/60 [" in bar
        assert sent == 2 * BATCH and len(fake.requests) == 3

        settings = Settings(batch_size=BATCH, openai_base_url=fake.url, openai_concurrency=1)
        with Engine.open(location, embedder=HashingEmbedder(16), settings=settings) as engine:
            assert engine.stats()["model"] == "hashing-16"
            assert _answers(engine) == before
            assert len(engine.store.shadow_missing()) == 60 - 2 * BATCH  # two durable batches
            fake.fail_when = None
            assert engine.reembed("openai:fake@16") == 60 - 2 * BATCH
            again = [t for body in fake.requests[3:] for t in body["input"]]
            assert len(again) == 60 - 2 * BATCH  # no finished batch embedded again
            assert engine.stats()["model"] == "openai:fake@16"
            # The fake embeds as hashing-16 does, through the new model's own path.
            _check_new_model(engine, 16)


def _read(fd: int) -> str:
    """What a terminal got so far."""
    out = b""
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace")


def test_other_engines_follow_the_swap(location: str) -> None:
    _fill(location)
    with _open(location) as writer, _open(location) as reader:
        assert reader.search("moon rocket", n=3)  # it holds the hashing-16 model
        writer.reembed(Counting())
        # Its next query finds the store's new model, embeds with it, and answers.
        found = _shape(reader.search("moon rocket", n=5))
        assert found == _shape(writer.search("moon rocket", n=5))
        assert reader.stats()["model"] == "hashing-32"
        reader.add_items([{"id": "late", "title": "moon rocket moon"}])  # in the new model
        assert writer.search("moon rocket moon", n=1)[0].id == "late"


def test_the_new_index_is_built_before_the_swap(location: str) -> None:
    """The swap takes an index built before it: the embedded store's text index is the
    shadow's own object, built as the batches came in; PostgreSQL's is an HNSW index of the
    new dimension, built once the last batch was in and renamed by the swap."""
    _fill(location)
    with _open(location) as engine:
        with pytest.raises(EmbedderError):
            engine.reembed(Counting(stop_after=5))  # all but the last batch
        store = engine.store
        assert store.shadow() == Shadow("hashing-32", 32)
        if isinstance(store, EmbeddedStore):
            built = store._shadow
            assert built is not None and built.index.live_count() == 5 * BATCH
            engine.reembed(Counting())
            assert store._spaces["text"] is built
            assert built.index.live_count() == 60 and built.space.dim == 32
        else:  # built in bulk once the last batch is in, then renamed by the swap
            engine.reembed(Counting())
            query = "[" + ",".join(["0.1"] * 32) + "]"
            with psycopg.connect(location) as conn:
                (valid, method, dims) = conn.execute(
                    "SELECT x.indisvalid, am.amname, format_type(a.atttypid, a.atttypmod) "
                    "FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
                    "JOIN pg_am am ON am.oid = c.relam JOIN pg_attribute a "
                    "ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] "
                    "WHERE c.relname = 'items_hnsw'"
                ).fetchone()
                conn.execute("SET enable_seqscan = off")  # 60 rows: else a scan is cheaper
                plan = conn.execute(
                    "EXPLAIN SELECT id FROM items ORDER BY embedding <=> %s::vector LIMIT 5",
                    (query,),
                ).fetchall()
            assert (valid, method, dims) == (True, "hnsw", "vector(32)")
            assert "items_hnsw" in " ".join(r[0] for r in plan)
        _check_new_model(engine, 32)
