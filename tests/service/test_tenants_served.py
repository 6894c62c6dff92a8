"""Tenants as a team runs them: made and loaded with the CLI (`likewise tenants create`,
`--tenant` on ingest, events import, train and search), then served by a real `likewise
serve` and called through `likewise.Client(url, tenant=...)` from many threads at once,
the requests of two tenants interleaved: each answer holds only its own tenant's items."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from tests.service.test_access_log import serving

from likewise import Client, NotFound, Unauthorized
from likewise.cli.main import main

ADMIN = "admin-key-served"
TOPICS = {
    "a": ["pasta tomato sauce", "pasta bake oven", "tomato soup bowl", "bread cheese oven"],
    "b": ["guitar concert song", "guitar album tour", "piano concert hall", "jazz band tour"],
}


def items(tenant: str) -> list[dict[str, Any]]:
    """`shared` in both tenants, with the tenant's own title; and ids of its own."""
    titles = TOPICS[tenant]
    own = [{"id": f"{tenant}-{k}", "title": t} for k, t in enumerate(titles)]
    return [{"id": "shared", "title": f"{titles[0]} of {tenant}"}, *own]


def ids(tenant: str) -> set[str]:
    return {i["id"] for i in items(tenant)}


class Cli:
    def __init__(self, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data, self.capsys = data, capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        code = main(["--data", str(self.data), *args])
        out, err = self.capsys.readouterr()
        return code, out, err


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def loaded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[tuple[Cli, dict]]:
    """A store whose default tenant and tenants a and b were loaded with the CLI."""
    cli = Cli(tmp_path / "data", capsys)
    own = _jsonl(tmp_path / "own.jsonl", [{"id": "shared", "title": "rocket moon orbit"}])
    assert cli("ingest", str(own), "--model", "hashing-64")[0] == 0
    keys: dict[str, dict[str, str]] = {}
    for tenant in TOPICS:
        code, out, err = cli("tenants", "create", tenant, "--json")
        assert code == 0, err
        keys[tenant] = json.loads(out)["keys"]
        source = _jsonl(tmp_path / f"{tenant}.jsonl", items(tenant))
        assert cli("--tenant", tenant, "ingest", str(source))[0] == 0
        events = [
            {"user_id": "u1", "item_id": f"{tenant}-{k}", "type": "like", "timestamp": 1e9 + k}
            for k in range(3)
        ]
        log = _jsonl(tmp_path / f"{tenant}-events.jsonl", events)
        code, _, err = cli("events", "import", str(log), "--tenant", tenant)
        assert code == 0, err
    yield cli, keys


def test_the_cli_works_on_the_tenant_it_is_given(loaded: tuple[Cli, dict]) -> None:
    cli, _ = loaded
    assert cli("train", "--tenant", "a")[0] == 0
    for tenant in TOPICS:
        code, out, _ = cli("search", TOPICS[tenant][0], "--tenant", tenant, "--json", "-n", "10")
        assert code == 0
        assert {h["id"] for h in json.loads(out)["items"]} <= ids(tenant)
        code, out, _ = cli("item", "show", "shared", "--tenant", tenant, "--json")
        assert json.loads(out)["title"] == items(tenant)[0]["title"]
        code, out, _ = cli("stats", "--tenant", tenant, "--json")
        assert json.loads(out)["items"] == len(ids(tenant))
        assert (json.loads(out)["trained"] is not None) == (tenant == "a")
    code, out, _ = cli("item", "show", "shared", "--json")  # the default tenant's own
    assert json.loads(out)["title"] == "rocket moon orbit"
    code, out, _ = cli("tenants", "list", "--json")
    assert [t["name"] for t in json.loads(out)["tenants"]] == ["a", "b"]
    # A restore swaps the data folder for the backup's: the tenants, beside it, stay.
    backup = cli.data.parent / "backup"
    assert cli("backup", str(backup))[0] == 0
    assert cli("restore", str(backup), "--force")[0] == 0
    code, out, _ = cli("stats", "--tenant", "a", "--json")
    assert code == 0 and json.loads(out)["items"] == len(ids("a"))


REFUSED = [  # the command, its exit code, the field its one line names
    (("stats", "--tenant", "nope"), 3, "tenant"),
    (("stats", "--tenant", "Bad!"), 2, "tenant"),
    (("tenants", "create", "a"), 2, "tenant"),  # exists
    (("tenants", "create", "c", "--settings", '{"data": "x"}'), 2, "settings.data"),
    (("tenants", "create", "c", "--settings", "[1]"), 2, "--settings"),
    (("tenants", "delete", "nope"), 3, "tenant"),
    (("backup", "/tmp/x", "--tenant", "a"), 2, "--tenant"),  # would not honour it
    (("serve", "--tenant", "a"), 2, "--tenant"),
]


def test_cli_errors_are_one_line_and_change_nothing(loaded: tuple[Cli, dict]) -> None:
    cli, _ = loaded
    for args, code, field in REFUSED:
        got, _, err = cli(*args, "--json")
        assert got == code, (args, err)
        assert len(err.strip().splitlines()) == 1, err
        assert json.loads(err)["error"]["field"] == field, args
    assert cli("tenants", "list", "--json")[1].count('"name"') == 2  # nothing made or lost
    assert sorted(p.name for p in Path(f"{cli.data}.tenants").iterdir()) == ["a", "b"]


def test_interleaved_concurrent_requests_stay_in_their_tenant(loaded: tuple[Cli, dict]) -> None:
    cli, keys = loaded
    with (
        serving(cli.data, LIKEWISE_WRITE_KEYS=f'["{ADMIN}"]') as (url, _),
        ExitStack() as open_clients,
    ):
        clients = {
            t: open_clients.enter_context(Client(url, api_key=keys[t]["read"], tenant=t))
            for t in TOPICS
        }

        def ask(k: int) -> list[str]:
            tenant = "ab"[k % 2]
            client, own = clients[tenant], ids(tenant)
            wrong = []
            found = [h.id for h in client.search(TOPICS[tenant][k % 4], n=5)]
            found += [h.id for h in client.similar("shared", n=5)]
            found += [r.id for r in client.recommend("u1", n=5).items]
            found += [h.id for h in client.popular(n=5)]
            if client.get("shared").title != items(tenant)[0]["title"]:
                wrong.append(f"{tenant}: shared")
            return wrong + [f"{tenant}: {i}" for i in found if i not in own]

        with ThreadPoolExecutor(8) as pool:
            crossed = [w for answer in pool.map(ask, range(160)) for w in answer]
        assert crossed == []
        for tenant, client in clients.items():  # every list was logged in its own tenant
            assert client.activity_report()["latency_ms"]["count"] == 80, tenant

        admin = open_clients.enter_context(Client(url, api_key=ADMIN))
        made = admin.create_tenant("c", settings={"strategy": "ema"})
        assert [t["name"] for t in admin.tenants()] == ["a", "b", "c"]
        with Client(url, api_key=made["keys"]["write"], tenant="c") as c:
            c.add_items([{"id": "c-1", "title": "chess opening"}])
            assert c.count() == 1
            other = open_clients.enter_context(
                Client(url, api_key=made["keys"]["read"], tenant="a")
            )
            with pytest.raises(Unauthorized):  # c's key on a
                other.count()
            admin.delete_tenant("c")
            with pytest.raises(NotFound) as gone:
                c.count()
            assert gone.value.field == "tenant"
        assert not Path(f"{cli.data}.tenants", "c").exists()
