"""The API documentation pages, `/docs` (Swagger UI) and `/redoc` (ReDoc), served from the
package: `make` fetches both from the npm registry into `static/vendor` (with their licences),
so the pages need no network, and a page of them requests nothing from elsewhere."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from likewise.service.errors import error_response

__all__ = ["ASSETS", "FILES", "install"]

VENDOR = Path(__file__).parent / "static" / "vendor"
ASSETS = "/static/vendor"  # the site's /static mount serves the same files when it is on
FILES = {
    "swagger_js": "swagger-ui-bundle.js",
    "swagger_css": "swagger-ui.css",
    "favicon": "swagger-ui-favicon-32x32.png",
    "redoc_js": "redoc.standalone.js",
}
MISSING = "the documentation pages are not built: run `make demo` (it fetches {name} from npm)"


def install(app: FastAPI) -> None:
    """Mount the vendored assets and the two pages (before the site's `/static`, so the pages
    work with the site off)."""
    app.mount(ASSETS, StaticFiles(directory=VENDOR, check_dir=False), name="vendor")
    url = {key: f"{ASSETS}/{name}" for key, name in FILES.items()}
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger() -> Response:
        if not (VENDOR / FILES["swagger_js"]).exists():
            return error_response(503, "not_built", MISSING.format(name="swagger-ui-dist"))
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=url["swagger_js"],
            swagger_css_url=url["swagger_css"],
            swagger_favicon_url=url["favicon"],
            # no badge from validator.swagger.io; the document is tested here instead
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> Response:
        if not (VENDOR / FILES["redoc_js"]).exists():
            return error_response(503, "not_built", MISSING.format(name="redoc"))
        page: HTMLResponse = get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            redoc_js_url=url["redoc_js"],
            redoc_favicon_url=url["favicon"],
            with_google_fonts=False,
        )
        # ReDoc's sidebar shows a logo from cdn.redoc.ly (hidden when it fails to load): keep
        # the page from asking for it, so /redoc makes no request off the machine.
        page.headers["Content-Security-Policy"] = "img-src 'self' data:"
        return page
