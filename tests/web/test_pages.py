"""The demo site, dashboard and experiments in a real Chromium over a real server."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.web.conftest import CATALOG, XSS, catalog_engine, serving

from likewise import Engine, Settings


def ready(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=15_000)


def for_you(page: Any) -> list[str]:
    return [
        str(x)
        for x in page.locator("#foryou li.card").evaluate_all("els => els.map(e => e.dataset.id)")
    ]


def test_likes_change_for_you_and_the_dashboard_shows_the_click(
    site: tuple[str, Engine], page: Any
) -> None:
    base, engine = site
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    ready(page, f"{base}/?visitor=alice")
    before = for_you(page)
    assert before  # popular items for a new visitor
    # like two space items from the item page: For you turns to space
    for item in ("space1", "space2"):
        ready(page, f"{base}/items/{item}?visitor=alice")
        assert page.locator("#related li.card").count() > 0
        page.click("#like")
        page.wait_for_function("document.getElementById('status').textContent === 'Liked.'")
    ready(page, f"{base}/?visitor=alice")
    after = for_you(page)
    assert after != before
    assert {"space3", "space4"} <= set(after[:3])  # the unliked space items lead the list
    assert "because you liked" in page.locator("#foryou .reason").first.inner_text()
    # click a recommendation: the click is tied to the list and shows on the dashboard
    page.locator("#foryou li.card a").first.click()
    page.wait_for_url("**/items/**")
    page.wait_for_selector("body[data-ready=true]")
    engine.record("old-visitor", "food1", "view", timestamp="2001-01-01T12:00:00Z")
    engine.record("old-visitor", "food2", "view", timestamp="2001-01-02T12:00:00Z")  # day 1
    ready(page, f"{base}/dashboard")
    page.wait_for_selector("#retention[data-ready=true]")
    cohorts = [x.split("\t") for x in page.locator("#cohort-table tbody tr").all_inner_texts()]
    assert cohorts[-1][2:] == ["\u2013"] * 3  # this week's visitors: too young for day 1
    engaged = [x.split("\t") for x in page.locator("#engagement-table tbody tr").all_inner_texts()]
    assert sum(int(row[1]) for row in engaged) >= 4  # lists shown, as in the latency table
    report = [r.as_dict() for r in engine.engagement_report()]
    figures = ("group", "impressions", "users", "first_shown")
    assert [[row[0], *map(int, row[1:3]), int(row[5])] for row in engaged] == [
        [r[k] for k in figures] for r in report
    ]
    rows = page.locator("#ctr-table tbody tr")
    texts = [rows.nth(k).inner_text() for k in range(rows.count())]
    assert any(t.split("\t")[2].strip() == "1" for t in texts), texts  # one click
    assert page.evaluate("typeof window.Chart") == "function"  # the vendored charting library
    charts = page.evaluate("Object.keys(Chart.instances).length")
    assert charts == 5  # CTR, conversions, both over time, event volume
    shown = len(engine.activity_report()["events"])
    assert shown and "Catalog coverage: " in page.locator("#coverage").inner_text()
    latency = [x.split("\t") for x in page.locator("#latency-table tbody tr").all_inner_texts()]
    assert latency[0][0] == "all lists" and int(latency[0][1]) >= 4  # four pages showed lists
    assert all(float(x) > 0 for x in latency[0][2:])  # p50, p90, p99 in milliseconds
    event_days = "(Chart.getChart(document.getElementById('events-chart'))?.data.labels || [])"
    assert "2001-01-01" not in page.evaluate(event_days)  # the last 30 days by default
    page.select_option("#since", "")  # all time
    page.wait_for_function(f"{event_days}.includes('2001-01-01')")
    old = "#cohort-table tbody tr:first-child"
    page.wait_for_function(f"document.querySelector('{old}').innerText.startsWith('2001-01-01')")
    first = page.locator(old).inner_text().split("\t")
    assert first == ["2001-01-01", "1", "100.0% (1/1)", "0.0% (0/1)", "0.0% (0/1)"]
    assert errors == []


def test_clicks_on_related_search_and_browse_lists_count_for_those_lists(
    site: tuple[str, Engine], page: Any
) -> None:
    base, engine = site
    ready(page, f"{base}/items/food1?visitor=dora")
    page.locator("#related li.card a").first.click()
    page.wait_for_selector("body[data-ready=true]")
    ready(page, f"{base}/?visitor=dora")
    page.locator("#results li.card a").first.click()  # the browse list: popular items
    page.wait_for_selector("body[data-ready=true]")
    ready(page, f"{base}/?visitor=dora")
    browse = page.locator("#results").get_attribute("data-recommendation-id")
    page.fill("#q", "tomato")
    page.click("#search button[type=submit]")
    # The browse list's cards are there already: wait for the search list to replace them.
    page.wait_for_function(
        "(old) => document.getElementById('results').dataset.recommendationId !== old", arg=browse
    )
    page.locator("#results li.card a").first.click()
    page.wait_for_url("**/items/**")
    page.wait_for_selector("body[data-ready=true]")
    deadline = time.monotonic() + 10  # the clicks are sent as the page is left (keepalive)
    while True:
        clicks = {r.group: r.clicks for r in engine.ctr_report()}
        if clicks.get("search") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert (clicks["related"], clicks["search"], clicks["popular"]) == (1, 1, 1)


def test_a_title_with_markup_renders_as_text(site: tuple[str, Engine], page: Any) -> None:
    base, _ = site
    ready(page, f"{base}/items/xss?visitor=bob")
    assert page.locator("#item-title").inner_text() == XSS
    assert page.evaluate("window.pwned") is None
    assert page.locator("img[src=x]").count() == 0 and page.locator("main script").count() == 0
    ready(page, f"{base}/?visitor=bob")
    page.fill("#q", "script window")
    page.click("#search button[type=submit]")
    page.wait_for_function("document.querySelector('#results li') !== null")
    assert page.evaluate("window.pwned") is None


def test_phone_sized_screen_and_empty_results(site: tuple[str, Engine], browser: Any) -> None:
    base, engine = site
    context = browser.new_context(viewport={"width": 375, "height": 700})
    page = context.new_page()
    ready(page, f"{base}/items/long?visitor=carol")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375  # a long title wraps instead of widening the page
    ready(page, f"{base}/?visitor=carol")
    page.keyboard.press("Tab")  # keyboard users meet the skip link first
    assert page.evaluate("document.activeElement.className") == "skip"
    page.select_option("#category", "space")
    page.fill("#q", "rocket")
    page.click("#search button[type=submit]")
    page.wait_for_selector("#results li.card")
    engine.delete([item["id"] for item in CATALOG])  # nothing left: 0 results, said plainly
    ready(page, f"{base}/?visitor=carol")
    assert page.locator("#results li.empty").inner_text() == "No items match."
    assert page.locator("#foryou li.empty").inner_text() == "Nothing yet: like an item."
    context.close()


def test_an_experiment_splits_visitors_and_its_report_renders(
    site: tuple[str, Engine], page: Any
) -> None:
    base, _ = site
    ready(page, f"{base}/experiments")
    page.fill("#exp-name", "homepage")
    page.click("#new-experiment button[type=submit]")
    page.wait_for_selector(".experiment[data-name=homepage]")
    labels = set()
    for k in range(12):
        ready(page, f"{base}/?visitor=v{k}")
        labels.add(page.locator("#foryou").get_attribute("data-strategy"))
    assert any("homepage:a" in x for x in labels) and any("homepage:b" in x for x in labels)
    ready(page, f"{base}/experiments")
    block = page.locator(".experiment[data-name=homepage]")
    assert block.locator("tbody tr").count() == 2
    assert "no significant difference yet" in block.locator(".summary").inner_text()
    block.get_by_text("Stop, promote b").click()
    page.wait_for_function("document.body.innerText.includes('winner b')")


def test_with_keys_on_the_pages_use_the_site_key_and_admin_asks_for_the_write_key(
    tmp_path: Path, page: Any
) -> None:
    engine = catalog_engine(tmp_path)
    keys = Settings(
        site=True, event_keys=["browser-key"], write_keys=["admin-key"], site_key="browser-key"
    )
    try:
        with serving(engine, keys) as base:
            assert page.request.get(f"{base}/v1/stats").status == 401  # no key, no data
            ready(page, f"{base}/items/space1?visitor=erin")  # the site key reads...
            page.click("#like")  # ...and records events
            page.wait_for_function("document.getElementById('status').textContent === 'Liked.'")
            assert engine.seen("erin") == ["space1"]
            ready(page, f"{base}/experiments")
            page.fill("#exp-name", "keyed")
            page.click("#new-experiment button[type=submit]")  # the site key may not
            page.wait_for_function("document.getElementById('status').textContent !== ''")
            assert "not write" in page.locator("#status").inner_text()
            assert engine.list_experiments() == []
            page.fill("#write-key", "admin-key")
            page.click("#new-experiment button[type=submit]")
            page.wait_for_selector(".experiment[data-name=keyed]")
            assert [e.name for e in engine.list_experiments()] == ["keyed"]
    finally:
        engine.close()


def test_the_item_page_relates_what_people_go_on_to_like_once_trained(
    tmp_path: Path, page: Any
) -> None:
    from tests.test_training import ITEMS, _events

    engine = Engine.open(str(tmp_path / "learned"), model="hashing-64")
    try:
        engine.add_items(ITEMS)
        engine.record_many(_events())
        with serving(engine, Settings(site=True, cache_size=0)) as base:
            ready(page, f"{base}/items/p0")
            before = related(page)
            assert before and before[0] != "q0"  # words alone: another rocket launch
            engine.train()
            ready(page, f"{base}/items/p0")
            assert related(page)[0] == "q0"  # people who like p0 go on to q0
    finally:
        engine.close()


def related(page: Any) -> list[str]:
    return [
        str(x)
        for x in page.locator("#related li.card").evaluate_all("els => els.map(e => e.dataset.id)")
    ]
