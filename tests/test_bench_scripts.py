"""The bench scripts run as `python bench/X.py`, with bench/ first on the import path: a
script there named after a standard module would stand for it in every import, likewise's
included (bench/http.py did, once `urllib.request`, which imports `http`, was imported at
the engine's import: every bench stopped at its first line)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_no_bench_script_is_named_after_a_standard_module() -> None:
    names = {path.stem for path in BENCH.glob("*.py")}
    assert names and not names & set(sys.stdlib_module_names)


def test_a_bench_script_starts_as_python_runs_it() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "digest.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "--items" in done.stdout
