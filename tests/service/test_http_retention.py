"""/v1/reports/retention and /v1/reports/engagement over the hand-made log: the figures the
Engine gives, the read key they need, and bad parameters refused by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.service.conftest import READ, WRITE, auth
from tests.tracking.retention_log import D0, UNTIL, load, rates

from likewise import Engine, Settings
from likewise.service import create_app


@pytest.fixture
def served(tmp_path: Path) -> Iterator[TestClient]:
    engine = Engine.open(str(tmp_path / "data"), model="hashing-64")
    load(engine)
    settings = Settings(read_keys=[READ], write_keys=[WRITE])
    with TestClient(create_app(settings, engine=engine), headers=auth(READ)) as client:
        yield client
    engine.close()


def test_the_reports_over_http(served: TestClient) -> None:
    body = served.get("/v1/reports/retention", params={"until": UNTIL}).json()
    assert (body["by"], body["since"], body["until"], body["days"]) == (
        "day",
        0.0,
        UNTIL,
        [1, 7, 30],
    )
    first = body["rows"][0]
    assert (first["cohort"], first["users"]) == ("2026-01-05", 4)
    assert rates(first) == {1: (4, 2, 0.5), 7: (4, 1, 0.25), 30: (4, 1, 0.25)}
    assert body["rows"][-1]["returns"][0]["rate"] is None  # first seen on the report's day

    weeks = served.get(
        "/v1/reports/retention",
        params={"by": "week", "until": "2026-02-14T12:00:00", "days": ["7", "1"]},
    ).json()
    assert weeks["days"] == [1, 7] and [r["users"] for r in weeks["rows"]] == [5, 2]
    assert rates(weeks["rows"][0]) == {1: (5, 3, 0.6), 7: (5, 1, 0.2)}

    since = served.get("/v1/reports/retention", params={"since": D0 + 86_400, "until": UNTIL})
    assert [r["cohort"] for r in since.json()["rows"]] == ["2026-01-07", "2026-02-11", "2026-02-14"]

    engaged = served.get(
        "/v1/reports/engagement", params={"group_by": "variant", "until": UNTIL}
    ).json()
    assert [r["group"] for r in engaged["rows"]] == ["exp:b"]
    every = served.get("/v1/reports/engagement", params={"until": UNTIL}).json()["rows"]
    popular = next(r for r in every if r["group"] == "popular")
    assert (popular["dwell_seconds"], popular["dwell_per_user"], popular["first_shown"]) == (
        90.0,
        30.0,
        3,
    )


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        pytest.param("retention", {"by": "month"}, "by", id="by"),
        pytest.param("retention", {"days": "0"}, "days", id="day-zero"),
        pytest.param("retention", {"days": "seven"}, "days", id="day-word"),
        pytest.param("retention", {"days": ["1", "1"]}, "days", id="day-twice"),
        pytest.param("retention", {"since": "soon"}, "since", id="since"),
        pytest.param("retention", {"until": "nan"}, "until", id="until-nan"),
        pytest.param("retention", {"until": "inf"}, "until", id="until-inf"),
        pytest.param("engagement", {"until": "later"}, "until", id="until-word"),
        pytest.param("engagement", {"group_by": "day"}, "group_by", id="group-by"),
        pytest.param("engagement", {"cohort": "x"}, "cohort", id="unknown"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(
    served: TestClient, path: str, params: dict[str, object], field: str
) -> None:
    found = served.get(f"/v1/reports/{path}", params=params)
    assert found.status_code == 422
    assert found.json()["error"]["field"] == field


def test_the_reports_need_a_key(served: TestClient) -> None:
    for path in ("retention", "engagement"):
        found = served.get(f"/v1/reports/{path}", headers={"Authorization": ""})
        assert found.status_code == 401, path
