"""The demo catalog with pictures: drawn the same every time, and `likewise demo --pictures`
end to end with the real image model (its graph exported once per session)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tests.embedders.test_image import image_graph  # noqa: F401  (a session fixture)

from likewise import Engine
from likewise.cli.main import main
from likewise.datasets.pictures import COLOURS, KINDS, PATTERNS, draw_catalog
from likewise.embedders.image import GRAPH


def test_the_catalog_is_drawn_the_same_every_time(tmp_path: Path) -> None:
    first, second = draw_catalog(tmp_path / "a"), draw_catalog(tmp_path / "b")
    assert first == second and len(first) == len(KINDS) * len(PATTERNS) * len(COLOURS) == 48
    assert len({r["id"] for r in first}) == 48
    files = sorted((tmp_path / "a").iterdir())
    assert [f.name for f in files] == sorted(r["image"] for r in first)
    assert all(f.read_bytes() == (tmp_path / "b" / f.name).read_bytes() for f in files)
    assert sum(f.stat().st_size for f in files) < 300_000
    # The title never names the colour: by text, colours are told apart by nothing.
    assert not any(c in r["title"].lower() for r in first for c in COLOURS)


def test_without_pillow_the_demo_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)  # `from PIL import ...` raises ImportError
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code = main(["--data", str(tmp_path / "data"), "demo", "--pictures"])
    err = capsys.readouterr().err
    assert code != 0 and "likewise[images]" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "data").exists()  # no store made


def test_the_pictures_demo_runs_end_to_end(
    tmp_path: Path,
    image_graph: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cache = tmp_path / "cache" / "likewise"
    cache.mkdir(parents=True)
    (cache / GRAPH).symlink_to(image_graph / GRAPH)  # the session's export, not another
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("LIKEWISE_MODEL", "hashing-256")
    data = tmp_path / "data"
    assert main(["--data", str(data), "demo", "--pictures"]) == 0
    out = capsys.readouterr().out
    assert "new: 48" in out and "embedded: 48" in out
    blocks = out.split("\nRelated to ")[1:]
    assert len(blocks) == 3
    for block in blocks:
        item = block.split()[0]
        lines = block.splitlines()
        assert lines[1].split() == ["by", "text", "by", "picture", "blended"]
        rows = [line.split() for line in lines[2:6]]
        by_picture = [row[3] for row in rows]
        # The picture's nearest share its pattern: the vectors come from the drawings.
        pattern = item.split("-")[-2]
        assert all(f"-{pattern}-" in found for found in by_picture[:3]), block
        assert item not in [row[k] for row in rows for k in (1, 3, 5)]
    with Engine.open(str(data)) as engine:
        assert engine.spaces()["image"].dim == 1280
        assert len(engine.vectors(engine.ids(), space="image")) == 48
        assert (tmp_path / "cache" / "likewise" / "pictures" / "mug-plain-red.png").is_file()
