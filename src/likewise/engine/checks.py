"""What the Engine checks before it acts: list lengths, item batches, a store's model."""

from __future__ import annotations

import functools
import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from likewise.embedders.base import Embedder
from likewise.errors import ConfigError, Conflict, InvalidInput
from likewise.items.limits import Limits
from likewise.items.model import ContentTemplate, Item, parse_item
from likewise.store import MAX_DIM, METRICS, TEXT, Space, StoreInfo, metric_of

__all__ = [
    "MAX_N",
    "IngestReport",
    "check_compatible",
    "check_n",
    "check_own_vectors",
    "check_page",
    "check_score",
    "check_space_args",
    "check_vector",
    "item_problem",
    "validate_items",
]

MAX_N = 10_000
# The store's vector spaces, asked for only when an item brings vectors of its own.
SpacesOf = Callable[[], Mapping[str, Space]]


@dataclass
class IngestReport:
    """What an ingest did; `embedded` counts the items whose text was (re-)embedded."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    embedded: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def validate_items(
    records: Iterable[Item | Mapping[str, Any]],
    limits: Limits,
    template: ContentTemplate,
    spaces: SpacesOf = dict,
    *,
    own_text: bool = False,
) -> list[Item]:
    """Every record as an Item within `limits`, or InvalidInput naming `items[k].field`
    (nothing written). An Item made elsewhere is checked against `limits` again: its maker
    may have applied other ones.

    An item with no text for `template` to embed is a Conflict (409 over HTTP) naming the
    template's first field: it is well formed, but this store's template finds nothing in
    it (another template, naming a metadata key it holds, would), and its vector would be
    the one every empty item shares. Items that events create (`unknown_items=create`) are
    written elsewhere, with their id embedded.

    With `own_text` (a store of the team's own text vectors, `vectors:<dim>`), every item
    carries `vectors.text` instead, and needs no text to embed."""
    items: list[Item] = []
    seen: set[str] = set()
    spaces = functools.cache(spaces)
    for position, record in enumerate(records):
        try:
            given = record.model_dump() if isinstance(record, Item) else record
            item = parse_item(given, limits=limits)
            if item.vectors or own_text:
                check_own_vectors(item, spaces(), own_text=own_text)
        except InvalidInput as exc:
            field = f"items[{position}]" + (f".{exc.field}" if exc.field else "")
            raise InvalidInput(exc.reason, field=field) from None
        if item.id in seen:
            raise InvalidInput(f"duplicate id {item.id!r}", field=f"items[{position}].id")
        seen.add(item.id)
        items.append(item)
    for position, item in enumerate(items):  # after the checks of form: those come first
        if not own_text and not template.render(item):
            raise Conflict(
                nothing_to_embed(template), field=f"items[{position}].{template.fields[0]}"
            )
    return items


def item_problem(
    record: Item | Mapping[str, Any],
    limits: Limits,
    template: ContentTemplate,
    spaces: SpacesOf = dict,
    *,
    own_text: bool = False,
) -> InvalidInput | None:
    """Why `record` could not be added on its own (as :func:`validate_items` would refuse
    it, the field without its position), or None."""
    try:
        item = parse_item(
            record.model_dump() if isinstance(record, Item) else record, limits=limits
        )
        if item.vectors or own_text:
            check_own_vectors(item, spaces(), own_text=own_text)
    except InvalidInput as exc:
        return exc
    if not own_text and not template.render(item):
        return Conflict(nothing_to_embed(template), field=template.fields[0])
    return None


def check_own_vectors(item: Item, spaces: Mapping[str, Space], *, own_text: bool = False) -> None:
    """Each of `item`'s own vectors names a space among `spaces` other than `text` (the
    embedder's: its vectors are made from the item's text), and has that space's dimension
    (its only length limit). InvalidInput names `vectors.SPACE`; NaN, infinities and
    non-numbers were refused when the item was made.

    With `own_text` the store has no model (`vectors:<dim>`): `text` is a space of the
    team's own, and every item must carry it."""
    if own_text and TEXT not in item.vectors:
        raise InvalidInput(
            f"this store has no text model: its text space takes your own "
            f"{spaces[TEXT].dim}-d vectors, so every item must carry one",
            field=f"vectors.{TEXT}",
        )
    for name, vector in item.vectors.items():
        field = f"vectors.{name}"
        if name == TEXT and not own_text:
            raise InvalidInput(
                "the text space holds the vectors this store's model makes from the item's "
                "text; give your own vectors in a space of your own (add_space)",
                field=field,
            )
        space = spaces.get(name)
        if space is None:
            known = ", ".join(s for s in spaces if s != TEXT) or "none yet"
            raise InvalidInput(
                f"unknown space {name!r} (declare it first with add_space); known: {known}",
                field=field,
            )
        check_vector(vector, space, field)


SPACE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")  # as the stores name their tables


def check_space_args(name: str, dim: int, metric: str) -> None:
    """A space's name, dimension and metric as a store takes them, or InvalidInput naming
    `space`, `dim` or `metric`."""
    if not isinstance(name, str) or not SPACE_NAME.match(name):
        raise InvalidInput("use 1-32 of a-z, 0-9 and _, starting with a letter", field="space")
    if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= MAX_DIM:
        raise InvalidInput(f"must be an integer from 1 to {MAX_DIM:,}", field="dim")
    if metric not in METRICS:
        raise InvalidInput(f"unknown metric; known: {', '.join(METRICS)}", field="metric")


# The largest magnitude a number of a vector of your own may have: with it, a vector's
# squares and dot products stay finite in 32-bit floats at any dimension a space takes.
VECTOR_BOUND = 1e6


def check_vector(vector: Any, space: Space, field: str) -> np.ndarray[Any, Any]:
    """`vector` (numbers, or a 1-d numpy array) as float32 for `space`: of its dimension (the
    only length limit), every number finite and within +-`VECTOR_BOUND`, and, for a cosine
    space, not all zeros (it has no direction). InvalidInput names `field` otherwise."""
    if isinstance(vector, np.ndarray) and vector.ndim == 1 and vector.dtype.kind in "fiu":
        vector = vector.tolist()
    if isinstance(vector, str | bytes) or not isinstance(vector, Sequence):
        raise InvalidInput("must be an array of numbers", field=field)
    if len(vector) != space.dim:
        raise InvalidInput(
            f"has {len(vector)} numbers; space {space.name!r} holds {space.dim}-d vectors",
            field=field,
        )
    for x in vector:  # compared, not converted: a JSON integer may be too large for a float
        if isinstance(x, bool) or not isinstance(x, int | float):
            raise InvalidInput("must be an array of numbers", field=field)
        if not -VECTOR_BOUND <= x <= VECTOR_BOUND:  # NaN fails both
            raise InvalidInput(f"numbers must be finite and within +-{VECTOR_BOUND:g}", field=field)
    out = np.asarray(vector, dtype=np.float32)
    if space.metric == "cosine" and not out.any():
        raise InvalidInput("must not be all zeros in a cosine space", field=field)
    return out


def nothing_to_embed(template: ContentTemplate) -> str:
    """Why an item with no text to embed is refused, and what would do."""
    fields = ", ".join(template.fields)
    return (
        f"the item has nothing to embed: give at least one of {fields} (the fields this "
        "store embeds, its template)"
    )


def check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_N:
        raise InvalidInput(f"must be an integer from 1 to {MAX_N}", field="n")


def check_page(offset: int) -> None:
    """`offset` is a count of items to skip within a list of at most `MAX_N` (a page that
    would pass its end is served short)."""
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset < MAX_N:
        raise InvalidInput(f"must be an integer from 0 to {MAX_N - 1}", field="offset")


def check_score(min_score: float | None) -> None:
    """A finite number, or None (no threshold)."""
    if min_score is None:
        return
    if isinstance(min_score, bool) or not isinstance(min_score, numbers.Real):
        raise InvalidInput("must be a number", field="min_score")
    try:
        finite = math.isfinite(min_score)
    except OverflowError:  # an integer past a float's range
        finite = False
    if not finite:
        raise InvalidInput("must be finite", field="min_score")


def check_compatible(
    info: StoreInfo, embedder: Embedder, metric: str | None, template: str | None
) -> None:
    if embedder.model_id != info.model_id or embedder.dim != info.dim:
        raise ConfigError(
            f"the store holds {info.dim}-d vectors of model {info.model_id!r}, not "
            f"{embedder.model_id!r}; switch with `likewise reembed --model ...`"
        )
    if metric is not None and metric_of(metric) != info.metric:
        raise ConfigError(f"the store uses metric {info.metric!r}, not {metric!r}")
    if template is not None and str(ContentTemplate.parse(template)) != info.template:
        raise ConfigError(f"the store embeds template {info.template!r}, not {template!r}")
