"""The demo site, dashboard and experiments in a real Chromium over a real server."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import CATALOG, XSS

from likewise import Engine


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
    engine.impressions.flush()
    ready(page, f"{base}/dashboard")
    rows = page.locator("#ctr-table tbody tr")
    texts = [rows.nth(k).inner_text() for k in range(rows.count())]
    assert any(t.split("\t")[2].strip() == "1" for t in texts), texts  # one click
    assert page.evaluate("typeof window.Chart") == "function"  # the vendored charting library


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
