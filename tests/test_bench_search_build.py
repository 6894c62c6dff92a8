"""bench/search.py's build, on each backend it measures: a PostgreSQL URL is not a folder to
write the bench's vectors beside (the build once wrote them to `<url>.vectors` and stopped at
its first PostgreSQL size, so `--peers` and `--backend postgres` never reached pgvector)."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

from likewise.store import open_store

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(scope="module")
def search_bench() -> ModuleType:
    sys.path.insert(0, str(BENCH))  # its own imports: peers, bench_pg
    try:
        spec = importlib.util.spec_from_file_location("likewise_bench_search", BENCH / "search.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def test_the_bench_builds_a_store_on_each_backend_and_leaves_no_vectors_file(
    search_bench: ModuleType, location: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    took = search_bench.build(location, 300)
    assert took["build_s"] > 0 and took["save_s"] >= 0 and took["build_peak_rss_mb"] > 0
    store = open_store(location)
    try:
        assert store.count() == 300
        assert store.get("i299") is not None
    finally:
        store.close()
    assert list(scratch.iterdir()) == []  # the vectors' folder is gone
    assert not Path(f"{location}.vectors").exists()
