"""The dashboard's table per segment, in a real Chromium over a real server: hidden while no
segment has lists, then a row per segment with its counts."""

from __future__ import annotations

from typing import Any

from tests.web.test_pages import ready

from likewise import Engine


def _rows(page: Any) -> list[list[str]]:
    return [r.split("\t") for r in page.locator("#segment-table tbody tr").all_inner_texts()]


def test_the_dashboard_shows_ctr_per_segment(site: tuple[str, Engine], page: Any) -> None:
    base, engine = site
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    engine.track("u1", "ema", ["space1"])
    ready(page, f"{base}/dashboard")
    assert page.locator("#segment-table").is_hidden()  # no segment yet
    engine.set_many_user_properties(
        [{"id": "u1", "properties": {"plan": "premium"}}, {"id": "u2", "properties": {}}]
    )
    engine.create_segment("premium", {"plan": "premium"})
    engine.create_segment("everyone", {})
    for _ in range(3):
        rec = engine.track("u1", "ema", ["space1"])
        engine.record("u1", "space1", "click", recommendation_id=rec)
    engine.track("u2", "ema", ["food1"])
    ready(page, f"{base}/dashboard")
    assert page.locator("#segment-table").is_visible()
    rows = {r[0]: r[1:4] for r in _rows(page)}
    assert set(rows) == {"everyone", "premium"}
    assert (rows["premium"][0], rows["premium"][1]) == ("4", "3")  # 4 lists, 3 clicked
    assert (rows["everyone"][0], rows["everyone"][1]) == ("5", "3")
    assert rows["premium"][2].startswith("75.0%")
    assert errors == []
