"""Screenshots of the demo site, dashboard and experiments, and their page-load times.

A real server (uvicorn on loopback, the site on) over 500 MovieLens-1M titles embedded by the
packaged model and 100 real users' ratings, with two weeks of simulated traffic (lists shown
by three strategies and an experiment, some clicked and bought) so the dashboard has history;
Debian's Chromium through Playwright. Prints time to first byte and to the load event (median
and p99 of 20 loads each, and the ratio of the medians to a static file of the same server,
the baseline) and writes PNGs.

    python -P bench/screenshots.py --out docs/screenshots   (-P: bench/http.py is not http)
"""

from __future__ import annotations

import argparse
import random
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
from likewise.tracking import Impression

DAY = 86_400.0
# simulated click-through per strategy, and the share of clicks that end in a purchase
CLICKS = {"mean": 0.06, "ema": 0.10, "hybrid": 0.16}
BUYS = 0.3


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
        simulate(engine, sorted({r["user_id"] for r in movielens_ratings("ml-1m", users=100)}))
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
                # baseline: a static file of the same server, no data behind it
                paths = ("/static/site.css", item, "/dashboard")
                rows = [measure(page, base + path, args.loads) for path in paths]
                shots = {"catalog": "/?visitor=demo", "item": item + "?visitor=demo"}
                page.goto(base + "/?visitor=demo")
                page.wait_for_selector("body[data-ready=true]")
                page.locator("#foryou li.card button").first.click()  # a like
                for _ in range(3):  # clicks on recommendations, for the dashboard
                    page.goto(base + "/?visitor=demo")
                    page.wait_for_selector("body[data-ready=true]")
                    page.locator("#foryou li.card a").first.click()
                    page.wait_for_selector("body[data-ready=true]")
                engine.tracker.impressions.flush()
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
    print(
        "| page | TTFB median | TTFB p99 | load event median | load event p99 | "
        "TTFB vs baseline | load vs baseline |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    _, base_ttfb, base_load = rows[0]
    for k, (path, ttfb, load) in enumerate(rows):
        print(
            f"| {path}{' (baseline)' if k == 0 else ''} | {median(ttfb)} | {p99(ttfb)} | "
            f"{median(load)} | {p99(load)} | {ratio(ttfb, base_ttfb)} | {ratio(load, base_load)} |"
        )


def simulate(engine: Engine, users: list[str], days: int = 14) -> None:
    """Lists shown to 30 users a day for `days` days, each made now (its real latency is
    kept) but dated back, clicked and bought at the rates above; then an experiment (ema
    against hybrid) serving every user once today."""
    rng = random.Random(7)
    today = time.time()

    def react(user: str, strategy: str, rec_id: str, ids: list[str], at: float) -> None:
        if ids and rng.random() < CLICKS.get(strategy, 0.05):
            item = rng.choice(ids[:3])
            engine.record(user, item, "click", timestamp=at + 30, recommendation_id=rec_id)
            if rng.random() < BUYS:
                engine.record(user, item, "purchase", timestamp=at + 300, recommendation_id=rec_id)

    for day in range(days, 0, -1):
        for user in rng.sample(users, 30):
            strategy = rng.choice(list(CLICKS))
            started = time.perf_counter()
            rec = engine.recommend(user, n=10, strategy=strategy, track=False)
            ms = (time.perf_counter() - started) * 1000
            at = today - day * DAY + rng.uniform(0, DAY / 2)
            ids = [r.id for r in rec.items]
            engine.tracker.impressions.add(Impression(rec.id, user, strategy, ids, at=at, ms=ms))
            react(user, strategy, rec.id, ids, at)
    engine.create_experiment("homepage", ["a:strategy=ema", "b:strategy=hybrid"])
    for user in users:
        rec = engine.recommend(user, n=10)
        react(user, rec.strategy, rec.id, [r.id for r in rec.items], time.time())
    engine.tracker.impressions.flush()


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


def ratio(xs: list[float], baseline: list[float]) -> str:
    return f"{statistics.median(xs) / max(statistics.median(baseline), 1e-9):.1f}x"


def p99(xs: list[float]) -> str:
    return f"{sorted(xs)[min(len(xs) - 1, int(0.99 * len(xs)))]:.1f}"


if __name__ == "__main__":
    main()
