"""A real Milvus standalone server for the tests, started once per session from the `milvus`
package (the `likewise[milvus]` extra) on a free port in a temporary folder, and stopped at
the end. Missing it skips the Milvus tests locally and fails them when CI=true."""

from __future__ import annotations

import gc
import os
import socket
import warnings
from collections.abc import Iterator

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
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
    server = MilvusServer()
    server.show_startup_banner = False
    server.set_base_dir(str(tmp_path_factory.mktemp("milvus")))
    server.listen_port = _free_port()
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


PREFIX = "lwtest"  # the collections every test store shares, emptied between tests


def empty_collections(server: str) -> None:
    """Delete every entity of the tests' collections: cheaper than making new ones (about
    3 s each), and a store of another dimension replaces its collection itself."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pymilvus import MilvusClient

    client = MilvusClient(uri=server)
    try:
        for name in client.list_collections():
            if name.startswith(f"{PREFIX}_"):
                client.delete(name, filter='id >= ""')
    finally:
        client.close()
