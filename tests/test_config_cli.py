"""`likewise config` and `--config FILE`: the effective settings with their sources, secrets
masked, no store made; and the file reaching the workers of `serve --workers N`."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.service.conftest import CATALOG
from tests.service.test_http_soak import free_port, start

import likewise
from likewise import Engine, Settings
from likewise.cli.main import main


@pytest.fixture(autouse=True)
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No `LIKEWISE_*` variable from the caller, and a working directory of our own."""
    for name in list(os.environ):
        if name.upper().startswith("LIKEWISE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_each_setting_with_its_source_and_no_secret_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = tmp_path / "shop"  # a data directory with its own file, and no store
    shop.mkdir()
    own = shop / "likewise.toml"
    own.write_text(
        'alpha = 0.3\nwrite_keys = ["w-secret-1", "w-secret-2"]\n[ranking]\ncache_size = 0\n'
    )
    keys = tmp_path / "read_keys"
    keys.write_text('["r-secret"]\n')
    monkeypatch.setenv("LIKEWISE_READ_KEYS_FILE", str(keys))
    monkeypatch.setenv("LIKEWISE_BETA", "0.9")
    monkeypatch.setenv("LIKEWISE_EVENT_KEYS", '["e-secret"]')
    monkeypatch.setenv("LIKEWISE_SITE_KEY", "e-secret")
    monkeypatch.setenv("LIKEWISE_OPENAI_API_KEY", "sk-secret")
    code, out, err = run(capsys, "--data", str(shop), "config")
    assert (code, err) == (0, "")
    lines = set(out.splitlines())
    assert {
        f'data = "{shop}"   (flag)',
        f"alpha = 0.3   (file {own})",
        f"cache_size = 0   (file {own})",
        'write_keys = ["****", "****"]   (file ' + str(own) + ")",
        "beta = 0.9   (env LIKEWISE_BETA)",
        f'read_keys = ["****"]   (file LIKEWISE_READ_KEYS_FILE={keys})',
        'event_keys = ["****"]   (env LIKEWISE_EVENT_KEYS)',
        'site_key = "****"   (env LIKEWISE_SITE_KEY)',
        'openai_api_key = "****"   (env LIKEWISE_OPENAI_API_KEY)',
        "port = 8000   (default)",
        "hybrid_weights = unset   (default)",
        'unknown_items = "reject"   (default)',
    } <= lines
    knobs = sum(len(kind.model_fields) for kind in Settings.COMPONENTS.values())
    assert len(out.splitlines()) == knobs and "secret" not in out
    assert sorted(p.name for p in shop.iterdir()) == ["likewise.toml"]  # no store made
    assert "LIKEWISE_CONFIG" not in os.environ  # set for the command only
    # --data names a directory without a file: not the default directory's file either
    (tmp_path / "likewise-data").mkdir()
    (tmp_path / "likewise-data" / "likewise.toml").write_text("cache_size = 7\n")
    assert "cache_size = 7   (file " in run(capsys, "config")[1]
    other = tmp_path / "other"
    other.mkdir()
    assert "cache_size = 10000   (default)" in run(capsys, "--data", str(other), "config")[1]


def test_json_and_a_database_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    named = tmp_path / "prod.toml"
    named.write_text('data = "postgresql://app:hunter2@db.example/shop"\nsignals = {view = 0.1}\n')
    monkeypatch.setenv("LIKEWISE_CONFIG", str(tmp_path / "other.toml"))  # --config beats it
    code, out, _ = run(capsys, "config", "--json", "--config", str(named))
    shown = json.loads(out)
    assert code == 0 and "hunter2" not in out
    assert shown["data"] == {
        "value": "postgresql://app:***@db.example/shop",
        "source": f"file {named}",
    }
    assert shown["signals"] == {"value": {"view": 0.1}, "source": f"file {named}"}
    assert shown["max_text_chars"] == {"value": None, "source": "default"}
    assert shown["read_keys"] == {"value": [], "source": "default"}


@pytest.mark.parametrize(
    ("setup", "args", "named"),
    [
        pytest.param(
            {"LIKEWISE_ALPHA": "5"}, [], "error: setting alpha: Input should be", id="env"
        ),
        pytest.param(
            {},
            ["--config", "nope.toml"],
            "error: --config: no configuration file at ",
            id="missing",
        ),
        pytest.param(
            {"bad.toml": "alpha = \n"}, ["--config", "bad.toml"], "bad.toml: line 1: ", id="syntax"
        ),
        pytest.param(
            {"shop/likewise.toml": 'data = "/elsewhere"\n'},
            ["--data", "shop"],
            "`data` may not be set in the data directory's own file",
            id="data-in-its-own-file",
        ),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_code_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setup: dict[str, str],
    args: list[str],
    named: str,
) -> None:
    for name, value in setup.items():
        if name.startswith("LIKEWISE_"):
            monkeypatch.setenv(name, value)
        else:
            (tmp_path / name).parent.mkdir(exist_ok=True)
            (tmp_path / name).write_text(value)
    code, out, err = run(capsys, *args, "config")
    assert (code, out, err.count("\n")) == (2, "", 1)
    assert named in err
    code, _, err = run(capsys, *args, "config", "--json")
    assert code == 2 and named.removeprefix("error: ") in json.loads(err)["error"]["message"]
    if "LIKEWISE_ALPHA" in setup:  # one setting at fault: named as the field too
        assert json.loads(err)["error"]["field"] == "alpha"


def test_the_file_reaches_every_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers build their app from the environment: `--config` is handed to them there."""
    here = str(Path(likewise.__file__).parents[1])  # this likewise, from any directory
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    data = tmp_path / "data"
    with Engine.open(str(data), model="hashing-64") as engine:
        engine.add_items(CATALOG)
    file = tmp_path / "serve.toml"
    file.write_text('read_keys = ["r1"]\nwrite_keys = ["w1"]\n')
    port = free_port()
    server = start(data, port, "--workers", "2", "--config", str(file), log=tmp_path / "log")
    item = f"http://127.0.0.1:{port}/v1/items/{CATALOG[0]['id']}"
    try:
        for _ in range(8):  # answered by either worker
            assert httpx.get(item, timeout=30).status_code == 401
            keyed = httpx.get(item, headers={"Authorization": "Bearer r1"}, timeout=30)
            assert keyed.status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_workers_read_secrets_from_their_files_and_get_no_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve --workers N` hands its workers only what flags gave: a store location and keys
    read from `_FILE` variables are read by each worker from the files, never copied into
    the workers' environment (where `ps e` and /proc would show them)."""
    here = str(Path(likewise.__file__).parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    data = tmp_path / "data"
    with Engine.open(str(data), model="hashing-64") as engine:
        engine.add_items(CATALOG)
    (tmp_path / "data-location").write_text(f"{data}\n")
    (tmp_path / "keys").write_text('["w-secret"]\n')
    monkeypatch.setenv("LIKEWISE_DATA_FILE", str(tmp_path / "data-location"))
    monkeypatch.setenv("LIKEWISE_WRITE_KEYS_FILE", str(tmp_path / "keys"))
    port = free_port()
    command = [sys.executable, "-m", "likewise.cli.main", "serve", "--workers", "2"]
    with (tmp_path / "log").open("ab") as sink:
        server = subprocess.Popen([*command, "--port", str(port)], stderr=sink)
    item = f"http://127.0.0.1:{port}/v1/items/{CATALOG[0]['id']}"
    try:
        keyed = {"Authorization": "Bearer w-secret"}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(item, headers=keyed, timeout=5).status_code == 200:
                    break
            time.sleep(0.2)
        for _ in range(8):  # answered by either worker, from the store the file names
            assert httpx.get(item, timeout=30).status_code == 401
            assert httpx.get(item, headers=keyed, timeout=30).status_code == 200
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert len(children) >= 2
        for pid in children:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            names = {entry.split(b"=", 1)[0] for entry in environ}
            assert b"LIKEWISE_DATA" not in names and b"LIKEWISE_WRITE_KEYS" not in names
            assert not any(b"w-secret" in entry for entry in environ)
    finally:
        server.terminate()
        server.wait(timeout=30)
