"""The demo site and dashboard: server-rendered Jinja2 shells whose data comes from the public
HTTP API, fetched by plain JavaScript with the configured site key. Catalog strings reach the
page only through `textContent` (and Jinja2's autoescaping), never as HTML."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from likewise.config import Settings

__all__ = ["install"]

HERE = Path(__file__).parent
CHARTS = HERE / "static" / "vendor" / "chart.umd.min.js"


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the pages at /, /items/{id}, /dashboard and /experiments, and their assets."""
    templates = Jinja2Templates(directory=HERE / "templates")  # autoescapes .html
    pages = APIRouter(include_in_schema=False)

    def page(request: Request, name: str, title: str, **extra: object) -> HTMLResponse:
        context = {
            "title": title,
            "key": settings.service.site_key,
            "charts": CHARTS.exists(),
            **extra,
        }
        return templates.TemplateResponse(request, name, context)

    @pages.get("/", response_class=HTMLResponse)
    def catalog(request: Request) -> HTMLResponse:
        return page(request, "catalog.html", "Catalog")

    @pages.get("/items/{item_id:path}", response_class=HTMLResponse)
    def item(request: Request, item_id: str) -> HTMLResponse:
        return page(request, "item.html", "Item", item_id=item_id)

    @pages.get("/dashboard", response_class=HTMLResponse)
    def dashboard(request: Request) -> HTMLResponse:
        return page(request, "dashboard.html", "Dashboard")

    @pages.get("/experiments", response_class=HTMLResponse)
    def experiments(request: Request) -> HTMLResponse:
        return page(request, "experiments.html", "Experiments")

    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
