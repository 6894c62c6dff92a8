"""A real Milvus standalone server for the tests, started from the `milvus` package (the
`likewise[milvus]` extra) on a free port in a temporary folder, once for the module that uses
it and stopped after it: idle, its fast time tick costs a fifth of a core, which the rest of
the suite should not pay. Missing it skips the Milvus tests locally and fails them when
CI=true."""

from __future__ import annotations

import gc
import os
import shutil
import socket
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SETTINGS = {"proxy.timeTickInterval": 10}  # strong reads wait a tick: 20 ms here, 400 at 200


def _binaries(root: Path) -> Path:
    """The server's executable and libraries, unpacked once into pytest's temporary root,
    which outlives each run's folder: the package unpacks 56 MB of LZMA at every start
    otherwise, 5 to 15 s of a test run. Unpacked aside and renamed, so a run that stops half
    way or another run at the same time never leaves half a binary there."""
    from milvus import __version__, _initialize_data_files  # the package's own unpacking

    cache = root / f"milvus-{__version__}"
    if not (cache / "bin").is_dir():
        scratch = Path(tempfile.mkdtemp(dir=root, prefix="milvus-unpacking-"))
        _initialize_data_files(str(scratch))
        try:
            scratch.rename(cache)
        except OSError:  # another run has renamed its own first
            shutil.rmtree(scratch, ignore_errors=True)
    return cache / "bin"


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a Milvus server: LIKEWISE_TEST_MILVUS_URL, else one started here."""
    given = os.environ.get("LIKEWISE_TEST_MILVUS_URL")
    if given:
        yield given
        return
    try:
        with warnings.catch_warnings():  # pymilvus and milvus import pkg_resources
            warnings.simplefilter("ignore")
            from milvus import MilvusServer
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and the milvus package is not installed (make test installs it)")
        pytest.skip("no Milvus: pip install 'likewise[milvus]' or set LIKEWISE_TEST_MILVUS_URL")
    base = tmp_path_factory.mktemp("milvus")
    (base / "bin").symlink_to(_binaries(tmp_path_factory.getbasetemp().parent), True)
    server = MilvusServer()
    server.show_startup_banner = False
    server.set_base_dir(str(base))
    server.listen_port = _free_port()
    for key, value in SETTINGS.items():
        server.config.set(key, value)
    try:
        with warnings.catch_warnings():  # the package leaves its port probes' sockets open
            warnings.simplefilter("ignore", ResourceWarning)
            server.start()
            gc.collect()  # ... closed here, where their warning is ignored
    except Exception as exc:  # the package's own errors: a timeout, a binary that will not run
        server.stop()
        pytest.fail(f"the Milvus server did not start: {exc}")
    yield f"http://127.0.0.1:{server.listen_port}"
    server.stop()


PREFIX = "lwtest"  # the collections every test store shares: each new store empties them
