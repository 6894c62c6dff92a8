"""Every command takes `--data postgresql://...`; `migrate` and `copy` move and upgrade stores."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Run

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
    tmp_path: Path, pg_url: str, catalog: Path, run: Run
) -> None:
    source = tmp_path / "src"
    assert run(source, "ingest", str(catalog), "--model", "hashing-64")[0] == 0
    assert run(source, "event", "u1", "a1", "click")[0] == 0
    code, out, err = run(source, "--json", "copy", str(source), pg_url)
    assert code == 0, err
    assert json.loads(out)["counts"]["items"] == 3 and json.loads(out)["counts"]["events"] == 1
    code, out, err = run(source, "copy", pg_url, str(tmp_path / "back"))
    assert code == 0 and "copied and verified" in out
    code, _, err = run(source, "copy", str(source), pg_url)
    assert code == 2 and "destination is not empty" in err
