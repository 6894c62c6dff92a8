"""Tenants over HTTP, on both backends (a folder per tenant; a PostgreSQL database per
tenant): two tenants and the default one loaded with different catalogs under the same item
and user ids, and nothing crosses: no item read, search, related list, "for you" list (a
cached one included), popular list, report, trained model or setting. A tenant's keys work on
that tenant only; creating and deleting a tenant are API calls, and a deleted tenant's data
is gone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from fastapi.testclient import TestClient

from likewise import Engine, Settings
from likewise.engine.tenants import Tenants
from likewise.service import create_app

ADMIN, READ = "admin-key-1", "server-read-key-1"
# The same ids in every catalog, with other texts: a crossing shows as the wrong title.
TOPICS = {
    "": ["rocket moon orbit", "rocket launch pad", "moon landing crew"],
    "a": ["pasta tomato sauce", "pasta bake oven", "tomato soup bowl"],
    "b": ["guitar concert song", "guitar album tour", "piano concert hall"],
}


def catalog(tenant: str) -> list[dict[str, Any]]:
    """`shared` under every tenant, and ids of the tenant's own (`a-1`...)."""
    own = tenant or "default"
    titles = TOPICS[tenant]
    return [{"id": "shared", "title": f"{titles[0]} {own}"}] + [
        {"id": f"{own}-{k}", "title": f"{title} {own}"} for k, title in enumerate(titles)
    ]


def ids(tenant: str) -> set[str]:
    return {item["id"] for item in catalog(tenant)}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class Served:
    def __init__(self, client: TestClient, keys: dict[str, dict[str, str]]) -> None:
        self.client = client
        self.keys = keys

    def call(self, tenant: str, method: str, path: str, role: str = "write", **kw: Any) -> Any:
        """`path` (`/v1/...`) on `tenant` ('' the default) with the tenant's key of `role`."""
        prefix = f"/v1/t/{tenant}" if tenant else "/v1"
        key = self.keys[tenant][role] if tenant else ADMIN
        return self.client.request(method, prefix + path[3:], headers=auth(key), **kw)

    def ok(self, tenant: str, method: str, path: str, **kw: Any) -> Any:
        response = self.call(tenant, method, path, **kw)
        assert response.status_code < 300, (tenant, path, response.text)
        return response.json() if response.content else None


@pytest.fixture(scope="module", params=["embedded", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One store of each kind for the module (made once: a tenant is a database to make)."""
    if request.param == "embedded":
        yield str(tmp_path_factory.mktemp("tenants") / "data")
        return
    import psycopg

    server = str(request.getfixturevalue("pg_server"))
    name = f"likewise_tenants_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def served(location: str) -> Iterator[Served]:
    """Tenants a and b beside the default one. The tests that change them come last."""
    settings = Settings(data=location, model="hashing-64", write_keys=[ADMIN], read_keys=[READ])
    with TestClient(create_app(settings)) as client:
        keys: dict[str, dict[str, str]] = {"": {}}
        for name, knobs in (("a", {}), ("b", {"strategy": "ema", "diversity": 0.0})):
            made = client.post(
                "/v1/tenants", json={"name": name, "settings": knobs}, headers=auth(ADMIN)
            )
            assert made.status_code == 201, made.text
            keys[name] = made.json()["keys"]
        s = Served(client, keys)
        for tenant in ("", "a", "b"):
            s.ok(tenant, "POST", "/v1/items:batch", json=catalog(tenant))
            own = tenant or "default"
            events = [
                {"user_id": "u1", "item_id": item, "type": "like", "event_id": f"{own}{k}"}
                for k, item in enumerate(["shared", f"{own}-0", f"{own}-1"][: 1 + len(tenant)])
            ]
            s.ok(tenant, "POST", "/v1/events", json=events)
        yield s
        tenants: Tenants = client.app.state.tenants  # type: ignore[attr-defined]
        for name in tenants.names():  # a PostgreSQL tenant is a database the fixture did not make
            tenants.delete(name)


def test_no_read_search_list_cache_or_report_crosses_tenants(served: Served) -> None:
    for tenant in ("", "a", "b"):
        own = ids(tenant)
        item = served.ok(tenant, "GET", "/v1/items/shared")
        assert item["title"] == catalog(tenant)[0]["title"]
        listed = served.ok(tenant, "GET", "/v1/items", params={"limit": 100})
        assert {i["id"] for i in listed["items"]} == own
        words = TOPICS[tenant][0]
        found = served.ok(tenant, "POST", "/v1/search", json={"text": words, "n": 10})
        assert {h["id"] for h in found["items"]} <= own and found["items"]
        similar = served.ok(tenant, "GET", "/v1/items/shared/similar", params={"n": 10})
        assert {h["id"] for h in similar["items"]} <= own and similar["items"]
        popular = served.ok(tenant, "GET", "/v1/popular", params={"n": 10})
        assert {h["id"] for h in popular["items"]} <= own and popular["items"]
        for _ in range(2):  # the second is a hit of the tenant's own cache, never another's
            rec = served.ok(tenant, "GET", "/v1/users/u1/recommendations", params={"n": 10})
            assert {r["id"] for r in rec["items"]} <= own and rec["items"], tenant
        events = served.ok(tenant, "GET", "/v1/users/u1/events")
        assert {e["item_id"] for e in events["events"]} <= own
        assert len(events["events"]) == 1 + len(tenant)  # 1, 2 and 2 events
        activity = served.ok(tenant, "GET", "/v1/reports/activity")
        assert sum(e["count"] for e in activity["events"]) == 1 + len(tenant), activity
        assert activity["latency_ms"]["count"] == 2  # the two lists above, its own
        stats = served.ok(tenant, "GET", "/v1/stats")
        assert stats["items"] == len(own)
        assert stats["cache"]["recommend"]["hits"] == 1, (tenant, stats["cache"])
    # Each tenant's own settings: b's strategy is its own, a's the server's.
    strategy = {t: served.ok(t, "GET", "/v1/users/u1/recommendations")["strategy"] for t in "ab"}
    assert strategy["b"] == "ema" and strategy["a"] != "ema"
    # A model trained in one tenant (as `likewise train --tenant a` does) is its alone.
    tenants: Tenants = served.client.app.state.tenants  # type: ignore[attr-defined]
    tenants.engine("a").train()
    assert served.ok("a", "GET", "/v1/stats")["trained"] is not None
    assert served.ok("b", "GET", "/v1/stats")["trained"] is None
    assert served.ok("", "GET", "/v1/stats")["trained"] is None
    rec = served.ok("a", "GET", "/v1/users/u1/recommendations", params={"strategy": "hybrid"})
    assert {r["id"] for r in rec["items"]} <= ids("a")


def test_a_tenants_keys_work_on_that_tenant_only(served: Served) -> None:
    c, a = served.client, served.keys["a"]
    assert c.get("/v1/t/a/items/shared", headers=auth(a["read"])).status_code == 200
    for path in ("/v1/t/b/items/shared", "/v1/items/shared"):  # b, and the default tenant
        refused = c.get(path, headers=auth(a["read"]))
        assert refused.status_code == 403 and "tenant 'a'" in refused.json()["error"]["message"]
    header = {**auth(a["write"]), "X-Likewise-Tenant": "b"}
    assert c.put("/v1/items/x", json={"title": "t"}, headers=header).status_code == 403
    assert c.get("/v1/t/b/items/x", headers=auth(served.keys["b"]["read"])).status_code == 404
    # Roles hold within a tenant; the server's read key stays on the default tenant.
    assert c.put("/v1/t/a/items/x", json={"title": "t"}, headers=auth(a["read"])).status_code == 403
    assert c.get("/v1/t/a/items/shared", headers=auth(READ)).status_code == 403
    assert c.get("/v1/t/a/items/shared", headers=auth(ADMIN)).status_code == 200
    assert c.get("/v1/t/a/items/shared").status_code == 401
    assert c.get("/v1/t/a/items/shared", headers=auth("lw_a_read_nope")).status_code == 401
    # Only the server's write keys manage tenants, and never from within one.
    assert c.get("/v1/tenants", headers=auth(a["write"])).status_code == 403
    assert c.get("/v1/tenants", headers=auth(READ)).status_code == 403
    within = c.get("/v1/t/a/tenants", headers=auth(ADMIN))
    assert within.status_code == 422 and within.json()["error"]["field"] == "tenant"


BAD = [
    ("/v1/t/A!/items", {}, 422),  # not a tenant name
    ("/v1/t/" + "a" * 35 + "/items", {}, 422),  # too long
    ("/v1/items", {"X-Likewise-Tenant": "../a"}, 422),
    ("/v1/t/a/items", {"X-Likewise-Tenant": "b"}, 422),  # the path and the header differ
    ("/v1/t/nope/items", {}, 404),
    ("/v1/items", {"X-Likewise-Tenant": "nope"}, 404),
]


def test_a_bad_or_unknown_tenant_is_named(served: Served) -> None:
    for path, headers, status in BAD:
        response = served.client.get(path, headers={**auth(ADMIN), **headers})
        assert response.status_code == status, (path, headers, response.text)
        assert response.json()["error"]["field"] == "tenant"


def test_create_and_delete_by_api(served: Served, location: str) -> None:
    c = served.client
    again = c.post("/v1/tenants", json={"name": "a"}, headers=auth(ADMIN))
    assert again.status_code == 409 and again.json()["error"]["field"] == "tenant"
    bad = c.post("/v1/tenants", json={"name": "c", "settings": {"data": "/x"}}, headers=auth(ADMIN))
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "settings.data"
    bad = c.post("/v1/tenants", json={"name": "c", "settings": {"alpha": 7}}, headers=auth(ADMIN))
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "settings.alpha"
    listed = c.get("/v1/tenants", headers=auth(ADMIN)).json()["tenants"]
    assert [t["name"] for t in listed] == ["a", "b"]  # the refused "c" was not made
    assert listed[1]["settings"] == {"strategy": "ema", "diversity": 0.0}
    assert "keys" not in listed[0]
    old_key = served.keys["a"]["read"]

    assert c.delete("/v1/tenants/a", headers=auth(ADMIN)).status_code == 204
    gone = c.get("/v1/t/a/items/shared", headers=auth(ADMIN))
    assert gone.status_code == 404 and gone.json()["error"]["field"] == "tenant"
    assert c.delete("/v1/tenants/a", headers=auth(ADMIN)).status_code == 404
    assert not _tenant_exists(location, "a")
    assert _tenant_exists(location, "b")
    # Made again: an empty catalog, new keys; the old keys are no one's.
    made = c.post("/v1/tenants", json={"name": "a"}, headers=auth(ADMIN))
    assert made.status_code == 201
    new_key = made.json()["keys"]["read"]
    assert c.get("/v1/t/a/items/shared", headers=auth(old_key)).status_code == 401
    assert c.get("/v1/t/a/stats", headers=auth(new_key)).json()["items"] == 0
    assert served.ok("b", "GET", "/v1/stats")["items"] == len(ids("b"))


def _tenant_exists(location: str, name: str) -> bool:
    """Whether tenant `name`'s data is there: its folder, or its database."""
    if not location.startswith("postgresql://"):
        return (Path(f"{location}.tenants") / name / "likewise.db").exists()
    import psycopg

    database = urlsplit(location).path.lstrip("/") + f"_t_{name}"
    with psycopg.connect(location, autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
    return row is not None


def test_servers_on_one_store_agree_on_its_tenants(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two servers (or workers) on one database: a tenant one of them makes is served by the
    other at once, with its keys; one it deletes is gone from the other at its next read of
    the registry (here every request, instead of every 2 s)."""
    monkeypatch.setattr("likewise.engine.tenants.REFRESH_SECONDS", 0.0)
    settings = Settings(data=pg_url, model="hashing-64", write_keys=[ADMIN])
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        made = one.post("/v1/tenants", json={"name": "x"}, headers=auth(ADMIN))
        key = made.json()["keys"]["write"]
        put = two.put("/v1/t/x/items/i1", json={"title": "written by two"}, headers=auth(key))
        assert put.status_code == 201, put.text
        item = one.get("/v1/t/x/items/i1", headers=auth(key)).json()
        assert item["title"] == "written by two"
        assert two.get("/v1/items/i1", headers=auth(ADMIN)).status_code == 404  # not the default's
        assert one.delete("/v1/tenants/x", headers=auth(ADMIN)).status_code == 204
        gone = two.get("/v1/t/x/items/i1", headers=auth(ADMIN))
        assert gone.status_code == 404 and gone.json()["error"]["field"] == "tenant"
        assert two.get("/v1/t/x/items/i1", headers=auth(key)).status_code == 404


def test_two_servers_creating_tenants_at_once_both_keep_theirs(tmp_path: Path) -> None:
    """Server one reads the registry, server two registers a tenant, then one registers its
    own: the registry is changed in one write transaction, so neither is lost (one blob
    written whole from one's earlier read lost two's)."""
    data = str(tmp_path / "data")
    settings = Settings(data=data, model="hashing-64")
    with Engine.open(data, settings=settings) as a, Engine.open(data, settings=settings) as b:
        one, two = Tenants(a, settings), Tenants(b, settings)
        opened = one._opened

        def meanwhile(name: str, overrides: Mapping[str, Any]) -> Engine:
            two.create("second")  # after one's read of the registry, before its write
            return opened(name, overrides)

        one._opened = meanwhile  # type: ignore[method-assign]
        one.create("first")
        for registry in (one, two):
            registry._refresh(force=True)
            assert registry.names() == ["first", "second"]
        one.close()
        two.close()
