"""/docs and /redoc in a real Chromium with every request off the machine blocked: the pages
come from the package, render every operation, and ask nothing of a CDN (the site is off)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.web.conftest import catalog_engine, serving

from likewise import Settings

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[str]:
    engine = catalog_engine(tmp_path)
    try:
        with serving(engine, Settings(site=False)) as base:
            yield base
    finally:
        engine.close()


def offline(page: Any) -> list[str]:
    """Abort every request that would leave the machine; return the list of them."""
    blocked: list[str] = []

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if urlsplit(url).hostname in LOOPBACK:
            request_route.continue_()
        else:
            blocked.append(url)
            request_route.abort()

    page.route("**/*", route)
    return blocked


def test_swagger_ui_renders_every_operation_offline(api: str, page: Any) -> None:
    blocked = offline(page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{api}/docs")
    page.wait_for_selector("#operations-users-recommendForUser", timeout=15_000)
    operations = page.evaluate("fetch('/openapi.json').then(r => r.json())")["paths"]
    count = sum(len(ops) for ops in operations.values())
    assert page.locator(".opblock").count() == count
    assert (
        "Recommend items for a user"
        in page.locator("#operations-users-recommendForUser").inner_text()
    )
    assert page.locator(".btn.authorize").count() == 1  # the bearer scheme
    assert blocked == [] and errors == []


def test_redoc_renders_offline(api: str, page: Any) -> None:
    blocked = offline(page)
    page.goto(f"{api}/redoc")
    page.wait_for_selector("h2:has-text('Create or replace many items')", timeout=15_000)
    assert page.locator("[data-section-id^='operation/']").count() >= 20
    assert blocked == []
