"""Embedder plugins through real entry points: each test writes a tiny distribution (a module and
its `.dist-info` with `entry_points.txt`) into a folder put on `sys.path`, where
importlib.metadata finds it as it finds an installed one. Nothing is mocked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from likewise import Engine
from likewise.cli.main import main
from likewise.config.embedding import EmbeddingConfig
from likewise.embedders.hashing import HashingEmbedder
from likewise.embedders.registry import get_embedder, installed, listed
from likewise.errors import ConfigError

SRC = Path(__file__).resolve().parents[2] / "src"

# A plugin module: `hashed-<dim>` models (HashingEmbedder under the plugin's own model id), a
# factory that records the settings it is handed, and three that break the rules.
PLUGIN = """
from likewise.embedders.hashing import HashingEmbedder
from likewise.embedders.plugins import ModelInfo

SEEN = []


class Hashed(HashingEmbedder):
    def __init__(self, dim):
        super().__init__(dim)
        self.model_id = f"hashed-{dim}"


class Factory:
    def describe(self):
        return [ModelInfo("hashed-<dim>", None, "a plugin's model"), ModelInfo("hashed", 8)]

    def __call__(self, argument):
        return Hashed(int(argument or 8))


factory = Factory()


def settled(argument, *, embedding=None):
    SEEN.append(embedding)
    embedder = HashingEmbedder(4)
    embedder.model_id = "settled"
    return embedder


def not_an_embedder(argument):
    return "vectors"


def raises(argument):
    raise ValueError("the plugin's own complaint")


class Liar:
    def describe(self):
        return [ModelInfo("liar", 8), ModelInfo("hashing-8", 8)]

    def __call__(self, argument):
        embedder = HashingEmbedder(8)
        embedder.model_id = "liar"
        return embedder


liar = Liar()


class Mute:
    def describe(self):
        raise RuntimeError("nothing to say")

    def __call__(self, argument):
        return HashingEmbedder(8)


mute = Mute()


class Vague(Mute):
    def describe(self):
        return [("vague", 8)]


vague = Vague()


def elsewhere(argument):
    return HashingEmbedder(8)  # model id hashing-8: a store would reopen with another plugin
"""

Make = Callable[..., Path]


@pytest.fixture
def distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Make]:
    """Writes a distribution (`name` `version`, a module, its entry points) into a folder on
    `sys.path`; every module written is forgotten again after the test."""
    modules: list[str] = []

    def make(name: str, entries: dict[str, str], code: str = PLUGIN, version: str = "1.0") -> Path:
        root = tmp_path / name
        module = name.replace("-", "_")
        (root / module).mkdir(parents=True)
        (root / module / "__init__.py").write_text(code)
        info = root / f"{module}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = "".join(f"{key} = {module}:{value}\n" for key, value in entries.items())
        (info / "entry_points.txt").write_text(f"[likewise.embedders]\n{lines}")
        monkeypatch.syspath_prepend(str(root))
        modules.append(module)
        return root

    yield make
    for module in modules:
        sys.modules.pop(module, None)


def test_a_plugin_is_found_through_its_entry_point_and_opens_the_stores_it_made(
    distribution: Make, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = distribution("hashed-plugin", {"hashed": "factory"}, version="2.5")
    for name, dim in [("hashed", 8), ("hashed-16", 16), ("hashed:32", 32)]:
        embedder = get_embedder(name)
        assert (type(embedder).__name__, embedder.dim) == ("Hashed", dim)
    rows = [row for row in listed() if row.distribution == "hashed-plugin"]
    assert [(r.name, r.dim, r.version, r.error) for r in rows] == [
        ("hashed-<dim>", None, "2.5", None),
        ("hashed", 8, "2.5", None),
    ]
    assert main(["models", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["models"]
    assert {"name": "hashed", "dim": 8, "note": "", "plugin": "hashed"} | {
        "distribution": "hashed-plugin",
        "version": "2.5",
        "error": None,
    } in shown
    assert shown[0]["name"] == "minilm" and shown[0]["distribution"] == "likewise"
    # A store records the plugin's model id and opens again through the plugin ...
    store = str(tmp_path / "store")
    with Engine.open(store, model="hashed-12") as engine:
        engine.add_items([{"id": "a", "title": "moon rocket"}])
    with Engine.open(store) as engine:
        assert engine.stats()["model"] == "hashed-12" and engine.similar("a", n=1) == []
    # ... and, the plugin gone, the store's model is named as unknown.
    sys.path.remove(str(root))
    with pytest.raises(ConfigError, match=r"unknown model 'hashed-12'; known: minilm, "):
        Engine.open(store)


def test_a_factory_that_asks_for_the_settings_is_handed_them(distribution: Make) -> None:
    distribution("settled-plugin", {"settled": "settled", "hashed": "factory"})
    settings = EmbeddingConfig(openai_batch_size=7)
    assert get_embedder("settled", embedding=settings).dim == 4
    import settled_plugin  # type: ignore[import-not-found]

    seen = settled_plugin.SEEN
    assert len(seen) == 1 and seen[0] is settings
    # A factory without the parameter is called without it (a TypeError otherwise).
    assert get_embedder("hashed-8", embedding=settings).dim == 8


def test_a_plugin_that_fails_to_import_is_listed_and_refused_by_name(
    distribution: Make, capsys: pytest.CaptureFixture[str]
) -> None:
    distribution("broken-plugin", {"broken": "factory"}, code="import no_such_module_here\n")
    cause = r"'broken' \(broken-plugin 1.0\) failed to load: ModuleNotFoundError: No module named"
    with pytest.raises(ConfigError, match=cause):
        get_embedder("broken:x")
    assert isinstance(get_embedder("hashing-8"), HashingEmbedder)  # the others still work
    (row,) = [row for row in listed() if row.distribution == "broken-plugin"]
    assert (row.name, row.dim) == ("broken", None)
    assert "No module named 'no_such_module_here'" in (row.error or "")
    assert main(["models"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["name", "dim", "from"]
    assert [line.split()[:4] for line in out if line.startswith("broken")] == [
        ["broken", "depends", "broken-plugin", "1.0"]
    ]
    (line,) = [line for line in out if line.startswith("broken")]
    assert "error: embedder plugin 'broken' (broken-plugin 1.0) failed to load" in line
    assert any(line.split()[:2] == ["minilm", "384"] for line in out)


def test_two_distributions_claiming_a_name_are_both_named(distribution: Make) -> None:
    distribution("one-plugin", {"twice": "factory"})
    distribution("two-plugin", {"twice": "factory", "hashing": "factory"}, version="3.1")
    both = r"'twice' is claimed by (one-plugin 1.0 .*two-plugin 3.1|two-plugin 3.1 .*one-plugin)"
    with pytest.raises(ConfigError, match=both):
        get_embedder("twice-8")
    # A built-in's name is no different: likewise itself is one of the two named.
    with pytest.raises(ConfigError, match=r"'hashing' is claimed by ") as refused:
        get_embedder("hashing-8")
    assert "likewise 0.1.0 (likewise.embedders.plugins:hashing)" in str(refused.value)
    assert "two-plugin 3.1 (two_plugin:factory)" in str(refused.value)
    rows = [row for row in listed() if row.name == "twice"]
    assert sorted(r.distribution for r in rows) == ["one-plugin", "two-plugin"]
    assert all("claimed by" in (r.error or "") for r in rows)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        pytest.param("wrongtype", r"returned str, not an Embedder", id="not-an-embedder"),
        pytest.param("raising", r"failed: ValueError: the plugin's own complaint", id="raises"),
        pytest.param("elsewhere", r"model_id 'hashing-8', a name that does not lead back", id="id"),
    ],
)
def test_a_factory_that_breaks_the_rules_is_refused_naming_it(
    distribution: Make, name: str, reason: str
) -> None:
    entries = {"wrongtype": "not_an_embedder", "raising": "raises", "elsewhere": "elsewhere"}
    distribution("rude-plugin", entries)
    with pytest.raises(
        ConfigError, match=rf"model '{name}': embedder plugin '{name}' \(rude-plugin"
    ):
        get_embedder(name)
    with pytest.raises(ConfigError, match=reason):
        get_embedder(name)
    row = next(row for row in listed() if row.name == name)
    assert (row.dim, row.note) == (None, "its plugin does not describe it")


def test_a_listing_names_a_plugin_that_lists_what_it_cannot_make(distribution: Make) -> None:
    distribution("odd-plugin", {"liar": "liar", "mute": "mute", "vague": "vague"})
    rows = {row.name: row for row in listed() if row.distribution == "odd-plugin"}
    assert rows["liar"].error is None and rows["liar"].dim == 8
    assert rows["hashing-8"].error == (
        "embedder plugin 'liar' (odd-plugin 1.0) lists 'hashing-8', but that name leads to "
        f"'hashing' (likewise {version('likewise')})"
    )
    assert rows["mute"].error == (
        "embedder plugin 'mute' (odd-plugin 1.0): describe() failed: RuntimeError: nothing to say"
    )
    assert rows["vague"].error == (
        "embedder plugin 'vague' (odd-plugin 1.0): describe() gave tuple, not ModelInfo"
    )
    assert get_embedder("liar").model_id == "liar"  # what it makes works all the same


def test_the_names_stores_recorded_before_plugins_still_open() -> None:
    assert get_embedder("all-MiniLM-L6-v2-onnx-int8").model_id == "all-MiniLM-L6-v2-onnx-int8"
    assert get_embedder("minilm").model_id == "all-MiniLM-L6-v2-onnx-int8"
    assert get_embedder("hashing").model_id == "hashing-64"
    assert get_embedder("hashing-64").model_id == "hashing-64"
    with pytest.raises(ConfigError, match=r"model 'hashing-1': hashing dimension must be 2..4096"):
        get_embedder("hashing-1")
    with pytest.raises(ConfigError, match="model minilm takes no argument, not 'x'"):
        get_embedder("minilm-x")
    with pytest.raises(ConfigError, match=r"unknown model 'bert'; known: minilm, .*hashing"):
        get_embedder("bert")
    # The built-ins are entry points of likewise's own metadata, as a plugin's are.
    own = {name for name, claims in installed().items() if claims[0].distribution == "likewise"}
    assert own == {
        "minilm",
        "all-MiniLM-L6-v2-onnx-int8",
        "hashing",
        "openai",
        "multilingual",
        "multilingual-e5-small-q4",
        "image",
        "efficientnet-lite0",
        "vectors",
    }


def test_without_likewise_metadata_the_error_says_so(tmp_path: Path) -> None:
    """From a source tree with no installed `likewise` metadata (its dependencies found as
    usual), a model name is an error that says why, not an unknown model alone."""
    site = tmp_path / "site"
    site.mkdir()
    for folder in map(Path, sys.path):
        if folder.name not in ("site-packages", "dist-packages") or not folder.is_dir():
            continue  # the checkout, the tests and the standard library stay out
        for entry in folder.iterdir():
            own = entry.name.startswith(("likewise-", "_likewise", "__editable__.likewise"))
            if not own and not (site / entry.name).exists():
                (site / entry.name).symlink_to(entry)
    probe = textwrap.dedent("""
        from importlib import metadata
        from likewise.embedders.registry import get_embedder
        from likewise.errors import ConfigError
        try:
            metadata.version("likewise")
        except metadata.PackageNotFoundError:
            pass
        else:
            raise SystemExit("the likewise metadata is still found")
        try:
            get_embedder("minilm")
        except ConfigError as exc:
            print(exc)
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(site)])
    done = subprocess.run(
        [sys.executable, "-S", "-c", probe], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("unknown model 'minilm'; known: none (each alone")
    assert "no `likewise` distribution is installed (run from a source tree?)" in done.stdout
