"""The feed's durable queue, on the embedded store and on PostgreSQL: pushes validated and
queued, applied in batches through the ingest (each text embedded once), deletions applied,
bad records kept as failures naming where they were, files taken once, the worker's lease."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from likewise import Engine
from likewise.embedders.base import Vectors
from likewise.embedders.hashing import HashingEmbedder
from likewise.engine.feed_sources import Folder
from likewise.engine.feed_worker import FeedWorker
from likewise.errors import Conflict, InvalidInput
from likewise.store.feed import FeedChange


class Counting(HashingEmbedder):
    """The hashing model, counting every text it embeds."""

    def __init__(self) -> None:
        super().__init__(64)
        self.texts: list[str] = []

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        self.texts += texts
        return super().embed_batch(texts)


@pytest.fixture
def counting() -> Counting:
    return Counting()


@pytest.fixture
def feed(location: str, counting: Counting) -> Iterator[Engine]:
    engine = Engine.open(location, embedder=counting)
    yield engine
    engine.close()


def searchable(engine: Engine, item_id: str, text: str) -> bool:
    return item_id in [h.id for h in engine.search(text, n=5)]


def test_pushes_are_applied_in_order_embedding_each_text_once(
    feed: Engine, counting: Counting
) -> None:
    pushed = feed.push_feed(
        [{"id": "a", "title": "moon rocket launch"}, {"id": "b", "title": "pasta sauce"}]
    )
    assert pushed.as_dict() == {"upserts": 2, "deletions": 0, "queued": 2}
    # the same change again while it waits is not queued twice
    assert feed.push_feed([{"id": "a", "title": "moon rocket launch"}]).queued == 0
    status = feed.feed_status()
    assert (status.pending, status.done, status.failed) == (2, 0, 0)
    assert status.lag >= 0 and feed.count() == 0  # queued, not applied
    step = feed.apply_feed()
    assert step.as_dict() == {"taken": 2, "upserted": 2, "deleted": 0, "failed": 0, "embedded": 2}
    assert sorted(counting.texts) == ["moon rocket launch", "pasta sauce"]
    assert searchable(feed, "a", "moon rocket")

    # an update, then a deletion of another item, then an unchanged record: the last
    # change of each item wins, and only the changed text is embedded
    feed.push_feed([{"id": "a", "title": "moon rocket landing"}])
    feed.push_feed([{"id": "b", "deleted": True}, {"id": "c", "title": "tomato soup"}])
    feed.push_feed([{"id": "c", "title": "tomato soup"}])  # waiting already: not queued
    feed.push_feed([{"id": "c", "deleted": True}, {"id": "c", "title": "tomato soup"}])
    counting.texts.clear()
    step = feed.apply_feed(batch=100)
    assert (step.upserted, step.deleted, step.embedded) == (2, 1, 2)
    assert sorted(counting.texts) == ["moon rocket landing", "tomato soup"]
    assert sorted(feed.store.all_ids()) == ["a", "c"]
    status = feed.feed_status()
    assert (status.pending, status.failed) == (0, 0) and status.done == 7
    assert feed.apply_feed().taken == 0


def test_a_batch_applied_again_after_a_crash_embeds_nothing(
    feed: Engine, counting: Counting
) -> None:
    feed.push_feed([{"id": f"i{k}", "title": f"item number {k} words"} for k in range(6)])
    rows = feed.store.feed_take(3)
    # the crash: the items were written, the queue not marked
    feed.add_items([json.loads(r.record or "") for r in rows])
    assert len(counting.texts) == 3
    step = feed.apply_feed(batch=10)
    assert (step.taken, step.upserted, step.embedded) == (6, 6, 3)
    assert len(counting.texts) == len(set(counting.texts)) == 6
    assert feed.feed_status().pending == 0


@pytest.mark.parametrize(
    ("record", "field"),
    [
        pytest.param({"title": "no id"}, "items[1].id", id="no-id"),
        pytest.param({"id": "x", "title": 5}, "items[1].title", id="bad-title"),
        pytest.param({"id": "x", "deleted": True, "title": 5}, "items[1].title", id="deletion"),
        pytest.param({"id": "", "deleted": True}, "items[1].id", id="blank-deletion"),
        pytest.param("x", "items[1]", id="not-an-object"),
    ],
)
def test_a_bad_push_names_the_field_and_queues_nothing(
    engine: Engine, record: object, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        engine.push_feed([{"id": "ok", "title": "fine"}, record])  # type: ignore[list-item]
    assert refused.value.field == field
    assert type(refused.value) is InvalidInput  # a 422
    assert engine.feed_status().pending == 0


def test_a_push_with_nothing_to_embed_is_a_conflict_and_a_deletion_needs_no_text(
    engine: Engine,
) -> None:
    with pytest.raises(Conflict) as refused:
        engine.push_feed([{"id": "x", "title": "fine"}, {"id": "y", "colour": "red"}])
    assert refused.value.field == "items[1].title" and engine.feed_status().pending == 0
    pushed = engine.push_feed([{"id": "y", "colour": "red", "deleted": True}])
    assert (pushed.deletions, pushed.queued) == (1, 1)


def test_a_record_the_catalog_refuses_fails_alone(feed: Engine) -> None:
    # queued by a source that reads records without the catalog's template
    nothing = FeedChange("x", "upsert", "drop.jsonl:2", hash="h", record='{"id": "x"}')
    good = FeedChange("y", "upsert", "drop.jsonl:3", hash="g", record='{"id": "y", "title": "y"}')
    assert feed.store.feed_enqueue([nothing, good]) == 2
    step = feed.apply_feed()
    assert (step.upserted, step.failed) == (1, 1)
    status = feed.feed_status()
    assert (status.done, status.failed, status.pending) == (1, 1, 0)
    [failure] = status.failures
    assert failure["source"] == "drop.jsonl:2" and failure["field"] == "title"
    assert feed.store.all_ids() == ["y"]


def test_a_record_refused_only_at_ingest_fails_alone_and_holds_nothing_up(
    feed: Engine,
) -> None:
    """Bytes that are no picture pass the push's checks and are refused by the ingest: the
    batch is applied one record at a time then, not retried for ever."""
    feed.push_feed([{"id": "p", "title": "a plain item"}])
    feed.push_feed([{"id": "q", "title": "a picture", "image_data": "aGVsbG8="}])
    feed.push_feed([{"id": "r", "title": "another plain one"}])
    step = feed.apply_feed()
    assert (step.taken, step.upserted, step.failed) == (3, 2, 1)
    status = feed.feed_status()
    assert (status.done, status.failed, status.pending) == (2, 1, 0)
    [failure] = status.failures
    assert failure["source"] == "api" and failure["field"] == "image_data"
    assert sorted(feed.store.all_ids()) == ["p", "r"]


def drop(folder: Path, name: str, lines: Sequence[object]) -> Path:
    """Write a file aside, then rename it in: a drop is whole when it appears."""
    tmp = folder / f".{name}.part"
    tmp.write_text("".join(f"{x if isinstance(x, str) else json.dumps(x)}\n" for x in lines))
    return tmp.rename(folder / name)


def test_a_folder_is_followed_each_file_once_bad_lines_named(
    feed: Engine, counting: Counting, tmp_path: Path
) -> None:
    folder = tmp_path / "drops"
    folder.mkdir()
    drop(folder, "one.jsonl", [{"id": "a", "title": "red apple"}, {"id": "b", "title": "pear"}])
    (folder / "two.csv").write_text("id,title,deleted\nb,,true\nc,green grape,\n,no id,\n")
    (folder / "notes.txt").write_text("not a drop")
    worker = FeedWorker(feed, folders=[str(folder)], every=0.1)
    assert worker.turn() and feed.count() == 0  # first look: sizes noted, nothing taken
    assert worker.turn()  # second look: unchanged since, so whole: taken and applied
    assert sorted(feed.store.all_ids()) == ["a", "c"]  # b added, then deleted by two.csv
    status = feed.feed_status()
    assert status.failed == 1 and status.pending == 0
    assert status.failures[0]["source"] == "two.csv:4"
    assert status.failures[0]["field"] == "id"
    embedded = len(counting.texts)

    # a restart (a new worker, the same store) does not take the files again ...
    feed.store.feed_release(worker.owner)
    again = FeedWorker(feed, folders=[str(folder)], every=0.1)
    assert again.turn() and again.turn()
    assert len(counting.texts) == embedded and feed.feed_status().done == status.done
    # ... but a new version of one is taken: only its changed item is embedded
    drop(
        folder, "one.jsonl", [{"id": "a", "title": "red apple"}, {"id": "b", "title": "ripe pear"}]
    )
    os.utime(folder / "one.jsonl", ns=(1, 1))  # a time of its own, whatever the clock
    assert again.turn() and again.turn()
    assert counting.texts[embedded:] == ["ripe pear"]
    assert sorted(feed.store.all_ids()) == ["a", "b", "c"]


def test_a_file_still_growing_waits(tmp_path: Path) -> None:
    folder = Folder(tmp_path)
    path = tmp_path / "big.jsonl"
    path.write_text('{"id": "a", "title": "a"}\n')
    assert list(folder.ready()) == []
    with path.open("a") as fh:
        fh.write('{"id": "b", "title": "b"}\n')
    assert list(folder.ready()) == []  # it changed since the last look
    [(key, ready)] = list(folder.ready())
    assert ready == path and key.endswith(f":{path.stat().st_size}:{path.stat().st_mtime_ns}")


def test_one_worker_holds_the_lease_and_a_dead_ones_is_taken_over(feed: Engine) -> None:
    first = FeedWorker(feed, every=0.1)
    second = FeedWorker(feed, every=0.1)
    assert first.turn() and not second.turn()
    feed.store.feed_release(first.owner)
    assert second.turn() and not first.turn()
    # a holder that died on this host: its pid is gone, so its lease is taken at once
    host, _, _ = second.owner.partition(":")
    dead = f"{host}:{dead_pid()}:gone"
    feed.store.feed_release(second.owner)
    assert feed.store.feed_lease(dead, 600) == dead
    assert first.turn()
    # one alive elsewhere keeps it until it runs out
    assert feed.store.feed_lease("elsewhere:1:x", 600, steal=first.owner) == "elsewhere:1:x"
    assert not first.turn()


def dead_pid() -> int:
    """A pid no process has (a child that has exited and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
