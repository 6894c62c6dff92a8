"""Refuse to build a release (sdist or wheel) without the vendored web assets.

Chart.js, Swagger UI and ReDoc are fetched by `make` from the npm registry into
`src/likewise/service/static/vendor/` and are not in git; a wheel built before that would
install a server whose dashboard has no charts and whose /docs page is blank, silently. An
editable install (`pip install -e .`, which `make` runs before it fetches them) reads the files
from the checkout at run time, so it is let through.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

VENDORED = (
    "chart.umd.min.js",
    "chart.js-LICENSE.md",
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "swagger-ui-LICENSE",
    "swagger-ui-NOTICE",
    "redoc.standalone.js",
    "redoc-LICENSE",
)


class VendoredAssets(BuildHookInterface):
    PLUGIN_NAME = "vendored-assets"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        folder = Path(self.root) / "src" / "likewise" / "service" / "static" / "vendor"
        missing = [name for name in VENDORED if not (folder / name).is_file()]
        if missing:
            raise RuntimeError(
                f"{folder} lacks {', '.join(missing)}: run `make wheel` (it fetches them)"
            )
