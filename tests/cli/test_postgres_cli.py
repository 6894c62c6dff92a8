"""Every command takes `--data postgresql://...`; `migrate` and `copy` move and upgrade stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.conftest import Run

from likewise.cli.main import main
from likewise.store.postgres import MIGRATIONS


def test_commands_run_on_postgresql(pg_url: str, catalog: Path, run: Run) -> None:
    code, out, err = run(pg_url, "--json", "ingest", str(catalog), "--model", "hashing-64")
    assert code == 0, err
    assert json.loads(out)["new"] == 3
    code, out, _ = run(pg_url, "--json", "ingest", str(catalog))
    assert json.loads(out)["unchanged"] == 3  # hashes stored in PostgreSQL: nothing re-embedded
    code, out, _ = run(pg_url, "--json", "similar", "a1", "-n", "1")
    assert code == 0 and json.loads(out)["items"][0]["id"] == "a2"
    code, out, _ = run(pg_url, "--json", "stats")
    assert json.loads(out)["backend"] == "postgres" and json.loads(out)["items"] == 3
    code, out, _ = run(pg_url, "migrate")
    assert code == 0 and f"schema version {max(MIGRATIONS)}, up to date" in out


def test_copy_there_and_back_and_refuse_a_full_destination(
    tmp_path: Path, pg_url: str, catalog: Path, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    def copy(*args: str) -> tuple[int, str, str]:  # copy takes no --data: its stores are args
        code = main(["copy", *args])
        out, err = capsys.readouterr()
        return code, out, err

    source = tmp_path / "src"
    assert run(source, "ingest", str(catalog), "--model", "hashing-64")[0] == 0
    assert run(source, "event", "u1", "a1", "click")[0] == 0
    code, out, err = copy("--json", str(source), pg_url)
    assert code == 0, err
    assert json.loads(out)["counts"]["items"] == 3 and json.loads(out)["counts"]["events"] == 1
    code, out, err = copy(pg_url, str(tmp_path / "back"))
    assert code == 0 and "copied and verified" in out
    code, _, err = copy(str(source), pg_url)
    assert code == 2 and "destination is not empty" in err
