"""A real server (uvicorn on a loopback port, the real app with the site on) and a real
browser: Playwright driving Debian's Chromium, never a downloaded one."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from likewise import Engine, Settings
from likewise.service import create_app

CHROMIUM = os.environ.get("LIKEWISE_CHROMIUM", "/usr/bin/chromium")
XSS = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
CATALOG = [
    {"id": "space1", "title": "Rocket reaches the moon", "tags": ["space"]},
    {"id": "space2", "title": "Moon rocket launch delayed", "tags": ["space"]},
    {"id": "space3", "title": "Astronauts walk on the moon", "tags": ["space"]},
    {"id": "space4", "title": "A rocket to Mars", "tags": ["space"]},
    {"id": "food1", "title": "Pasta with tomato sauce", "tags": ["food"]},
    {"id": "food2", "title": "Tomato pasta bake", "tags": ["food"]},
    {"id": "food3", "title": "Fresh tomato soup", "tags": ["food"]},
    {"id": "food4", "title": "Pasta salad with basil", "tags": ["food"]},
    {"id": "xss", "title": XSS, "tags": ["<b>tag</b>"]},
    {"id": "long", "title": "An extraordinarily " + "long " * 40 + "title", "tags": ["food"]},
]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)):
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is missing at {CHROMIUM}: make test installs it (apt)")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    return CHROMIUM


@contextmanager
def serving(engine: Engine, settings: Settings) -> Iterator[str]:
    """The real app on a free loopback port, in a thread; yields its base URL."""
    app = create_app(settings, engine=engine)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def catalog_engine(tmp_path: Path) -> Engine:
    engine = Engine.open(str(tmp_path / "data"), model="hashing-64")
    engine.add_items(CATALOG)
    return engine


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    engine = catalog_engine(tmp_path)
    try:
        with serving(engine, Settings(site=True)) as base:
            yield base, engine
    finally:
        engine.close()


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path,
            args=["--headless", "--no-sandbox", "--disable-background-networking"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()
