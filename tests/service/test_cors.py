"""CORS: off by default; on, a preflight from a configured origin is allowed and others are not."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from likewise import Engine, Settings
from likewise.config import ServiceConfig
from likewise.errors import ConfigError
from likewise.service import create_app

SHOP = "https://shop.example.com"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


def preflight(client: TestClient, origin: str) -> dict[str, str]:
    response = client.options("/v1/events", headers={"Origin": origin, **PREFLIGHT})
    return {k.lower(): v for k, v in response.headers.items()}


def test_a_preflight_from_an_allowed_origin_is_allowed(engine: Engine) -> None:
    with TestClient(create_app(Settings(cors_origins=[SHOP]), engine=engine)) as client:
        headers = preflight(client, SHOP)
        assert headers["access-control-allow-origin"] == SHOP
        allowed = {m.strip() for m in headers["access-control-allow-methods"].split(",")}
        assert {"GET", "POST", "PUT", "DELETE"} <= allowed
        asked = headers["access-control-allow-headers"].lower()
        assert "authorization" in asked and "content-type" in asked
        response = client.get("/healthz", headers={"Origin": SHOP})
        assert response.headers["access-control-allow-origin"] == SHOP


def test_a_preflight_from_another_origin_is_not(engine: Engine) -> None:
    with TestClient(create_app(Settings(cors_origins=[SHOP]), engine=engine)) as client:
        assert "access-control-allow-origin" not in preflight(client, "https://evil.example.com")
        response = client.get("/healthz", headers={"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in response.headers


def test_cors_is_off_by_default(client: TestClient) -> None:
    headers = preflight(client, SHOP)
    assert not [k for k in headers if k.startswith("access-control-")]
    assert client.options("/v1/events", headers={"Origin": SHOP, **PREFLIGHT}).status_code == 405
    response = client.get("/healthz", headers={"Origin": SHOP})
    assert not [k for k in response.headers if k.lower().startswith("access-control-")]


@pytest.mark.parametrize(
    "origin",
    ["shop.example.com", "https://shop.example.com/", "https://x/path", "ftp://x", "HTTPS://X"],
)
def test_a_bad_origin_is_refused_by_name(origin: str) -> None:
    with pytest.raises(ConfigError, match=r"setting cors_origins: .* is not an origin"):
        Settings(cors_origins=[origin])


def test_origins_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIKEWISE_CORS_ORIGINS", f'["{SHOP}", "http://localhost:3000"]')
    assert ServiceConfig().cors_origins == [SHOP, "http://localhost:3000"]
    monkeypatch.setenv("LIKEWISE_CORS_ORIGINS", '["localhost:3000"]')
    with pytest.raises(ConfigError, match="localhost:3000"):
        ServiceConfig()
