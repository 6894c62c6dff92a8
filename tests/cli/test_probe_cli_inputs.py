"""Hostile input to the command line (a probe of the CLI and the settings): each is refused
with one line naming the option or setting, exit code 2, and changes nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from tests.cli.conftest import Run

from likewise import ConfigError, Settings
from likewise.cli.main import main
from likewise.cli.retrain import Retrainer

DEEP = "[" * 5_000 + "]" * 5_000  # deeper than the JSON parser's stack
HUGE = '{"n": ' + "9" * 5_000 + "}"  # more digits than int() reads


def one_line(code: int, out: str, err: str) -> None:
    assert (code, out) == (2, ""), err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "named"),
    [
        pytest.param(["event", "u1", "a1", "view", "--context", DEEP], "--context", id="ctx-deep"),
        pytest.param(["event", "u1", "a1", "view", "--context", HUGE], "--context", id="ctx-huge"),
        pytest.param(["tenants", "create", "t1", "--settings", DEEP], "--settings", id="tenant"),
    ],
)
def test_hostile_json_in_an_option_is_named(
    data: Path, run: Run, args: list[str], named: str
) -> None:
    """They raised RecursionError or ValueError: a traceback, exit code 1."""
    code, out, err = run(data, *args)
    one_line(code, out, err)
    assert named in err
    code, out, _ = run(data, "stats", "--json")
    assert json.loads(out)["events"] == 0
    code, out, _ = run(data, "tenants", "list", "--json")
    assert json.loads(out) == {"tenants": []}


def test_a_null_context_is_no_context_as_over_http(data: Path, run: Run) -> None:
    """`--context null` recorded the event before the JSON checks, as POST /v1/events does."""
    code, out, err = run(data, "event", "u1", "a1", "view", "--context", " null")
    assert (code, out.strip()) == (0, "recorded"), err
    code, out, _ = run(data, "stats", "--json")
    assert json.loads(out)["events"] == 1


@pytest.mark.parametrize(
    ("variable", "text", "named"),
    [
        pytest.param("LIKEWISE_WRITE_KEYS", "secret-key-1", "write_keys", id="keys-not-a-list"),
        pytest.param("LIKEWISE_SIGNALS", '{"view": ', "signals", id="table-cut-short"),
        pytest.param("LIKEWISE_CLICK_TYPES_FILE", "tap\n", "click_types", id="file-not-json"),
        pytest.param("LIKEWISE_CONTEXT_RULES", DEEP, "context_rules", id="deep"),
    ],
)
def test_a_list_or_table_setting_that_is_not_json_is_named(
    tmp_path: Path,
    data: Path,
    run: Run,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    text: str,
    named: str,
) -> None:
    """pydantic-settings' SettingsError (and the parser's RecursionError) were not turned into
    a ConfigError: `likewise stats` printed a traceback and exited 1."""
    if variable.endswith("_FILE"):
        path = tmp_path / "value.txt"
        path.write_text(text)
        monkeypatch.setenv(variable, str(path))
    else:
        monkeypatch.setenv(variable, text)
    with pytest.raises(ConfigError, match=f"setting {named} \\((env|file) {variable}") as caught:
        Settings()
    assert caught.value.field == named and "not valid JSON" in str(caught.value)
    assert "secret-key-1" not in str(caught.value)  # a key's text is never shown
    code, out, err = run(data, "stats")
    one_line(code, out, err)
    assert f"setting {named} (" in err
    code, out, err = run(data, "stats", "--json")
    assert code == 2 and json.loads(err)["error"]["field"] == named


def test_migrate_and_copy_make_no_store_where_there_is_none(
    tmp_path: Path, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    """`migrate` on a mistyped folder made a store there, and `copy` a store at its missing
    source (then failed on it, exit code 1), though read commands leave nothing behind."""
    typo = tmp_path / "typo"
    code, out, err = run(typo, "migrate")
    one_line(code, out, err)
    assert f"no likewise store at {typo}" in err
    assert not typo.exists()
    destination = tmp_path / "copy"
    assert main(["copy", str(typo), str(destination), "--json"]) == 2
    assert json.loads(capsys.readouterr().err)["error"]["field"] == "src"
    assert not typo.exists() and not destination.exists()


@pytest.mark.parametrize("made", [False, True], ids=["no-folder", "empty-folder"])
def test_a_refused_import_makes_no_store(
    tmp_path: Path, catalog: Path, run: Run, made: bool
) -> None:
    """`ingest` and `events import` opened (so made) the store before checking the file: a
    refused file, or a model that does not exist, left a store at `--data`, its model
    recorded (or, for the model, a likewise.db that the next command made a store of)."""
    data = tmp_path / "new"
    if made:
        data.mkdir()
    files = {
        "bad-line.jsonl": '{"id": "ok", "title": "fine"}\n{"id": "x", "tags": "oops"}\n',
        "nothing-to-embed.jsonl": '{"id": "e", "color": "red"}\n',  # a store's check
        "events.jsonl": '{"user_id": "u1", "item_id": "a1", "type": "like"}\n',  # no such item
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    refused = [
        ["ingest", str(tmp_path / "bad-line.jsonl"), "--model", "hashing-32"],
        ["ingest", str(tmp_path / "nothing-to-embed.jsonl"), "--model", "hashing-32"],
        ["events", "import", str(tmp_path / "events.jsonl")],
        ["ingest", str(catalog), "--model", "no-such-model"],
    ]
    for args in refused:
        code, out, err = run(data, *args)
        assert (code, out) == (2, ""), err
        assert "Traceback" not in err
        assert list(data.iterdir()) == [] if made else not data.exists(), args
    code, _, err = run(data, "stats")
    assert code == 2 and "no likewise store" in err
    code, out, err = run(data, "ingest", str(catalog), "--model", "hashing-64", "--json")
    assert code == 0, err  # no model was recorded by the refusals
    assert json.loads(out)["new"] == 3


RECOMMEND_FRESH = ["recommend", "u1", "--strategy", "hybrid", "--weights", '{"fresh": 1}']


@pytest.mark.parametrize(
    ("variable", "value", "args"),
    [
        pytest.param("LIKEWISE_FRESH_DAYS", "1e6", RECOMMEND_FRESH, id="fresh-before-year-1"),
        pytest.param("LIKEWISE_FRESH_DAYS", "inf", RECOMMEND_FRESH, id="fresh-infinite"),
        pytest.param("LIKEWISE_SEQUENCE_LAMBDA", "inf", ["train"], id="penalty-infinite"),
    ],
)
def test_a_setting_too_large_to_work_is_refused_by_name(
    data: Path,
    run: Run,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    args: list[str],
) -> None:
    """Accepted, then a traceback where it was used: `fresh` asked for a time before year 1
    (ValueError, or OverflowError past time_t), the next-item ridge for a matrix of infinities
    (ValueError from scipy)."""
    for user, item in (("u1", "a1"), ("u1", "a2"), ("u2", "a2"), ("u2", "a3")):
        assert run(data, "event", user, item, "like")[0] == 0
    monkeypatch.setenv(variable, value)
    code, out, err = run(data, *args)
    one_line(code, out, err)
    assert f"setting {variable.removeprefix('LIKEWISE_').lower()}" in err


def test_a_retrain_schedule_is_one_a_thread_can_wait(tmp_path: Path) -> None:
    """`serve --train-every 1e12` was accepted: the retraining thread died at once with
    OverflowError (a timeout past time_t) and the server never retrained."""
    with pytest.raises(ConfigError, match="setting train_every"):
        Settings(train_every=1e12)
    most = Settings(train_every=365 * 86_400).training.train_every  # the longest allowed
    retrainer = Retrainer(str(tmp_path), most).start()
    time.sleep(0.2)
    assert retrainer._thread.is_alive()  # waiting, not dead
    retrainer.stop()
    assert not retrainer._thread.is_alive() and retrainer.runs == 0


NOT_UTF8 = [  # bytes that are not UTF-8 in argv, as Python decodes them (lone surrogates)
    (["item", "show", "\udcff"], "id"),
    (["item", "delete", "a1", "x\udcffy"], "id"),
    (["recommend", "\udcff"], "user"),
    (["events", "delete", "\udce9"], "user"),
    (["onboard", "\udce9", "--text", "moon"], "user"),
]


def test_text_arguments_that_are_not_utf8_are_named(
    tmp_path: Path, catalog: Path, data: Path, run: Run
) -> None:
    """`likewise item show $'\\xff'`: the store could not encode the id, a UnicodeEncodeError
    traceback (exit code 1). A path is bytes, though: a file or --data named so still works."""
    for args, named in NOT_UTF8:
        code, out, err = run(data, *args, "--json")
        assert (code, out) == (2, ""), args
        error = {"code": "usage", "message": "is not UTF-8 text", "field": named}
        assert json.loads(err) == {"error": error}
    code, out, _ = run(data, "stats", "--json")
    assert json.loads(out)["items"] == 3  # nothing deleted
    odd = tmp_path / "caf\udce9.jsonl"  # b"caf\xe9.jsonl" on disk
    odd.write_bytes(catalog.read_bytes())
    code, out, err = run(data, "ingest", str(odd), "--json")
    assert code == 0, err
    assert json.loads(out)["unchanged"] == 3


@pytest.mark.parametrize(
    ("args", "named"),
    [
        pytest.param(["--every", "0"], "--every", id="every"),
        pytest.param(["--batch", "0"], "--batch", id="batch"),
        pytest.param(["--url", "ftp://feed"], "--url", id="url"),
    ],
)
def test_watch_names_the_option_it_was_given(
    data: Path, run: Run, args: list[str], named: str
) -> None:
    """`watch --every 0` was refused as `setting feed_poll_seconds`, a name never typed."""
    code, out, err = run(data, "watch", *args, "--json")
    assert (code, out) == (2, "")
    assert json.loads(err)["error"]["field"] == named


def test_eval_refuses_an_out_it_cannot_write_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`eval --out FILE` ran the whole evaluation (minutes on MovieLens), then died making
    the report's folder (FileExistsError traceback); `--save-tuned FOLDER` likewise."""
    items, events = tmp_path / "items.jsonl", tmp_path / "events.jsonl"
    items.write_text(
        "".join(json.dumps({"id": f"i{i}", "title": f"t {i}"}) + "\n" for i in range(20))
    )
    likes = [
        {
            "user_id": f"u{u}",
            "item_id": f"i{(u * 3 + k) % 20}",
            "type": "like",
            "timestamp": 10 * u + k,
        }
        for u in range(10)
        for k in range(5)
    ]
    events.write_text("".join(json.dumps(e) + "\n" for e in likes))
    taken = tmp_path / "taken"
    taken.write_text("a file, not a folder")
    dataset = ["eval", "--dataset", f"{items},{events}", "--model", "hashing-64", "--json"]
    for args, named in (
        (["--out", str(taken)], "--out"),
        (["--out", str(taken / "report")], "--out"),
        (["--tune", "alpha=0.1,0.2", "--save-tuned", str(tmp_path)], "--save-tuned"),
    ):
        assert main([*dataset, *args]) == 2
        out, err = capsys.readouterr()
        assert out == "" and "validation" not in err  # refused before the run
        assert json.loads(err)["error"]["field"] == named
    assert taken.read_text() == "a file, not a folder"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full to fill")
def test_a_digest_whose_file_cannot_be_written_says_so_in_one_line(
    tmp_path: Path, data: Path, run: Run
) -> None:
    """A full disk under `digest --out` was an OSError traceback, after its lists had been
    logged as sent; now one line (exit 1) says the file is incomplete and what was logged."""
    for user, item in (("u1", "a1"), ("u2", "a3")):
        assert run(data, "event", user, item, "like")[0] == 0
    full = tmp_path / "full.jsonl"
    full.symlink_to("/dev/full")  # every write: ENOSPC
    code, out, err = run(data, "digest", "--name", "weekly", "--out", str(full))
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and err.startswith(f"error: cannot write {full} (--out): ")
    assert "No space left on device" in err and "2 lists made were logged as sent" in err
