"""Screenshots of the demo site, dashboard and experiments, and their page-load times.

A real server (uvicorn on loopback, the site on) over 500 MovieLens-1M titles embedded by the
packaged model and 100 real users' ratings; Debian's Chromium through Playwright. Prints time
to first byte and to the load event (median and p99 of 20 loads each) and writes PNGs.

    python -P bench/screenshots.py --out docs/screenshots   (-P: bench/http.py is not http)
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from playwright.sync_api import sync_playwright

from likewise import Engine, Settings
from likewise.datasets import movielens_items, movielens_ratings
from likewise.service import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        engine = Engine.open(folder)
        items = movielens_items("ml-1m")[:500]
        engine.add_items(items)
        known = {i["id"] for i in items}
        engine.record_many(
            [r for r in movielens_ratings("ml-1m", users=100) if r["item_id"] in known]
        )
        engine.train()
        app = create_app(Settings(site=True), engine=engine)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        item = "/items/" + items[0]["id"].replace(" ", "%20")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=args.chromium,
                    args=["--headless", "--no-sandbox", "--disable-background-networking"],
                )
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                rows = [measure(page, base + path, args.loads) for path in (item, "/dashboard")]
                shots = {"catalog": "/?visitor=demo", "item": item + "?visitor=demo"}
                page.goto(base + "/?visitor=demo")
                page.wait_for_selector("body[data-ready=true]")
                page.locator("#foryou li.card button").first.click()  # a like
                for _ in range(3):  # clicks on recommendations, for the dashboard
                    page.goto(base + "/?visitor=demo")
                    page.wait_for_selector("body[data-ready=true]")
                    page.locator("#foryou li.card a").first.click()
                    page.wait_for_selector("body[data-ready=true]")
                engine.impressions.flush()
                shots.update(dashboard="/dashboard", experiments="/experiments")
                for name, path in shots.items():
                    page.goto(base + path)
                    page.wait_for_selector("body[data-ready=true]")
                    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
                    print(f"wrote {out / name}.png")
                browser.close()
        finally:
            server.should_exit = True
            engine.close()
    print(f"\npage load on loopback, {args.loads} loads each (ms)")
    print("| page | TTFB median | TTFB p99 | load event median | load event p99 |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for path, ttfb, load in rows:
        print(f"| {path} | {median(ttfb)} | {p99(ttfb)} | {median(load)} | {p99(load)} |")


def measure(page: Any, url: str, loads: int) -> tuple[str, list[float], list[float]]:
    ttfb, load = [], []
    for _ in range(loads):
        page.goto(url, wait_until="load")
        timing = page.evaluate(
            "(() => { const t = performance.getEntriesByType('navigation')[0];"
            " return [t.responseStart - t.startTime, t.loadEventEnd - t.startTime]; })()"
        )
        ttfb.append(timing[0])
        load.append(timing[1])
    return url.split("/", 3)[-1].split("?")[0], ttfb, load


def median(xs: list[float]) -> str:
    return f"{statistics.median(xs):.1f}"


def p99(xs: list[float]) -> str:
    return f"{sorted(xs)[min(len(xs) - 1, int(0.99 * len(xs)))]:.1f}"


if __name__ == "__main__":
    main()
