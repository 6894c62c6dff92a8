"""Plots are the `likewise[plots]` extra: `eval --out` without matplotlib still writes the
report, and says in one line how to get the plots."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import pytest

from likewise.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
HINT = "no plots in the report: matplotlib is not installed (pip install 'likewise[plots]')"


@pytest.fixture
def own(tmp_path: Path) -> str:
    """A team's own tiny catalog and likes, as `--dataset ITEMS,EVENTS`."""
    items = tmp_path / "items.jsonl"
    items.write_text(
        "".join(json.dumps({"id": f"i{k}", "title": f"item {k}"}) + "\n" for k in range(20))
    )
    events = tmp_path / "events.csv"
    lines = ["user_id,item_id,type,timestamp"]
    for u in range(12):
        for step in range(6):
            lines.append(f"u{u},i{(u % 2) + 2 * ((u + step) % 10)},like,{1_700_000_000 + step}")
    events.write_text("\n".join(lines) + "\n")
    return f"{items},{events}"


def evaluate(own: str, out: Path) -> int:
    return main(
        [
            "eval",
            *("--dataset", own, "--model", "hashing-64", "--strategies", "popular,ema"),
            *("--tune", "alpha=0.2,0.5", "--out", str(out)),
        ]
    )


def test_eval_without_matplotlib_writes_the_index_and_says_how_to_get_plots(
    own: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    assert evaluate(own, tmp_path / "report") == 0
    err = capsys.readouterr().err.splitlines()
    assert err.count(HINT) == 1
    index = (tmp_path / "report" / "index.md").read_text()
    assert "| popular |" in index and "| ema |" in index and "| alpha | 0.5 |" in index
    assert "pip install 'likewise[plots]'" in index and ".png" not in index
    written = sorted(p.name for p in (tmp_path / "report").iterdir())
    assert written == ["index.md", "tuned.toml"]  # no plot, and the values --tune chose


def test_eval_with_matplotlib_draws_the_plots(
    own: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert evaluate(own, tmp_path / "report") == 0
    assert HINT not in capsys.readouterr().err
    index = (tmp_path / "report" / "index.md").read_text()
    for png in ("accuracy.png", "tradeoff.png", "alpha.png"):
        assert f"({png})" in index
        assert (tmp_path / "report" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "likewise[plots]" not in index


def test_matplotlib_is_the_plots_extra_not_a_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith("matplotlib")]
    assert [d for d in project["optional-dependencies"]["plots"] if d.startswith("matplotlib")]
