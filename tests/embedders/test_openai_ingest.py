"""The remote embedder under the Engine and the CLI, against the fake server: a store built
and reopened on it, items embedded once by content hash, and an ingest that stops partway
and continues where it stopped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.fake_openai import FakeOpenAI, fake_openai

from likewise import Engine, Settings
from likewise.cli.main import main
from likewise.errors import EmbedderError, IngestStopped

KEY = "sk-test-9d2e61"
ITEMS = [{"id": f"i{k:02d}", "title": f"item number {k} about topic {k % 3}"} for k in range(20)]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """A fake that wants KEY, and the settings that point the embedder at it."""
    with fake_openai(key=KEY) as server:
        monkeypatch.setenv("LIKEWISE_OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("LIKEWISE_OPENAI_API_KEY", KEY)
        monkeypatch.setenv("LIKEWISE_OPENAI_RETRIES", "0")
        yield server


def texts(ids: list[str]) -> list[str]:
    """The embedded text of these ITEMS (the template's title)."""
    by_id = {item["id"]: item["title"] for item in ITEMS}
    return [by_id[i] for i in ids]


def test_a_store_on_a_known_model_records_its_name_and_size(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Engine.open(str(tmp_path), model="openai:text-embedding-3-small") as engine:
        assert fake.requests == []  # the size is OpenAI's published one: no probe
        engine.add_items(ITEMS[:3])
        info = engine.store.info
        assert info is not None
        assert (info.model_id, info.dim) == ("openai:text-embedding-3-small", 1536)
    assert fake.inputs == texts(["i00", "i01", "i02"])
    monkeypatch.delenv("LIKEWISE_OPENAI_API_KEY")
    with Engine.open(str(tmp_path)) as engine:  # no key: opening and reading need none
        assert [hit.id for hit in engine.similar("i00", n=1)] == ["i01"]
        with pytest.raises(EmbedderError, match=r"HTTP 401: .*set LIKEWISE_OPENAI_API_KEY\)$"):
            engine.search("topic 1")
    assert len(fake.requests) == 2


def test_dimensions_are_kept_in_the_model_id_and_reopen_without_the_setting(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIKEWISE_OPENAI_DIMENSIONS", "24")
    with Engine.open(str(tmp_path), model="openai:text-embedding-3-small") as engine:
        engine.add_items(ITEMS[:4])
    monkeypatch.delenv("LIKEWISE_OPENAI_DIMENSIONS")
    with Engine.open(str(tmp_path)) as engine:
        info = engine.store.info
        assert info is not None and (info.model_id, info.dim) == (
            "openai:text-embedding-3-small@24",
            24,
        )
        assert engine.search("item number 2 about topic 2", n=1)[0].id == "i02"
    assert {body["dimensions"] for body in fake.requests} == {24}


def test_unchanged_items_are_not_sent_again(fake: FakeOpenAI, tmp_path: Path) -> None:
    with Engine.open(str(tmp_path), model="openai:text-embedding-3-small@16") as engine:
        engine.add_items(ITEMS[:10])
        sent = len(fake.inputs)
        changed = [*ITEMS[:9], {**ITEMS[9], "title": "a new title"}, {**ITEMS[0], "id": "new"}]
        changed[3] = {**ITEMS[3], "category": "metadata only"}  # no new text: not embedded
        report = engine.add_items(changed)
    assert (report.unchanged, report.changed, report.new, report.embedded) == (8, 2, 1, 2)
    assert fake.inputs[sent:] == ["a new title", ITEMS[0]["title"]]


@pytest.mark.parametrize("concurrency", [1, 2])
def test_an_ingest_stopped_partway_keeps_its_batches_and_continues(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, concurrency: int
) -> None:
    monkeypatch.setenv("LIKEWISE_OPENAI_BATCH_SIZE", "4")
    monkeypatch.setenv("LIKEWISE_OPENAI_CONCURRENCY", str(concurrency))
    settings = Settings(batch_size=4)  # a durable write per 4 items: one request each
    fake.fail_after = 3  # the 4th request and later get a 500
    with Engine.open(str(tmp_path), model="openai:m@8", settings=settings) as engine:
        # 1 at a time: batches 1-3 written. 2 at a time: the pair (3, 4) fails together.
        written = 12 if concurrency == 1 else 8
        with pytest.raises(IngestStopped) as stopped:
            engine.add_items(ITEMS)
        missing = [item["id"] for item in ITEMS[written:]]
        assert stopped.value.missing == missing and stopped.value.written == written
        message = str(stopped.value)
        assert "HTTP 500: The server had an error while processing your request." in message
        shown = ", ".join(map(repr, missing[:5]))
        assert f"{20 - written} items not written ({shown}, ...), {written} written" in message
        assert message.endswith("run the same ingest again to continue")
        assert sorted(engine.ids()) == [item["id"] for item in ITEMS[:written]]
        assert engine.count() == written
        fake.fail_after, sent = None, len(fake.requests)
        report = engine.add_items(ITEMS)
    assert (report.unchanged, report.new, report.embedded) == (written, 20 - written, 20 - written)
    answered = [t for body in fake.requests[sent:] for t in body["input"]]
    assert sorted(answered) == sorted(texts(missing))  # only the missing ones were sent


def test_the_cli_ingests_through_the_server_and_names_what_it_left(
    fake: FakeOpenAI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    catalog = tmp_path / "items.jsonl"
    catalog.write_text("".join(json.dumps(item) + "\n" for item in ITEMS))
    data = tmp_path / "data"
    monkeypatch.setenv("LIKEWISE_BATCH_SIZE", "5")
    monkeypatch.setenv("LIKEWISE_OPENAI_BATCH_SIZE", "5")
    monkeypatch.setenv("LIKEWISE_OPENAI_CONCURRENCY", "1")
    fake.fail_when = lambda text: text.startswith("item number 17 ")
    command = ["--data", str(data), "ingest", str(catalog), "--model", "openai:m@8"]
    assert main(command) == 1  # the embedding server failed: a runtime fault, not usage
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "HTTP 400: this input is refused by the fake" in err
    assert "5 items not written ('i15', 'i16', 'i17', 'i18', 'i19')" in err
    assert "15 written before stay; run the same ingest again to continue" in err
    fake.fail_when = None
    assert main([*command, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["new"], report["unchanged"], report["embedded"]) == (5, 15, 5)
    assert fake.inputs[-5:] == texts(["i15", "i16", "i17", "i18", "i19"])


def test_the_items_an_ingest_wrote_before_it_stopped_reach_the_cached_lists(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIKEWISE_OPENAI_BATCH_SIZE", "4")
    monkeypatch.setenv("LIKEWISE_OPENAI_CONCURRENCY", "1")
    settings = Settings(batch_size=4)
    with Engine.open(str(tmp_path), model="openai:m@8", settings=settings) as engine:
        engine.add_items(ITEMS[:4])
        before = {hit.id for hit in engine.similar("i00", n=10)}  # now cached
        assert before == {"i01", "i02", "i03"}
        fake.fail_after = len(fake.requests) + 2  # two more batches are written, then 500s
        with pytest.raises(IngestStopped):
            engine.add_items(ITEMS)
        after = {hit.id for hit in engine.similar("i00", n=10)}
        assert engine.count() == 12  # the first 4, then two batches of 4
    assert len(after) == 10 and after - before  # i04..i11 are there, not the cached list


def test_settings_given_in_python_reach_the_embedder(tmp_path: Path) -> None:
    """No environment: `Settings(openai_...)` alone points the store's embedder at the server."""
    with fake_openai(key=KEY) as server:
        settings = Settings(openai_base_url=server.url, openai_api_key=KEY, openai_retries=0)
        with Engine.open(str(tmp_path), model="openai:m@8", settings=settings) as engine:
            engine.add_items(ITEMS[:3])
            assert engine.search("item number 1", n=1)[0].id == "i01"
        assert server.inputs == [*texts(["i00", "i01", "i02"]), "item number 1"]
