"""The forms of POST /v1/search's body, as the OpenAPI document states them: a text, or a
vector of one space's dimension (the spaces the store has when the document is made)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from likewise.engine import VECTOR_BOUND

__all__ = ["search_forms"]

NULL = {"type": "null"}  # a field left out or given as null: the server reads both alike


def search_forms(spaces: Mapping[str, tuple[int, str]] | None) -> dict[str, Any]:
    """The `anyOf` of SearchIn: `text` alone, or `vector` with `space` (left out: text),
    each space's vector of its dimension (`spaces`: name -> (dim, metric); None before the
    store is open, when any length is stated). Numbers stay within the bound the engine
    checks; a cosine space's vector is not all zeros."""
    forms: list[dict[str, Any]] = [
        {
            "required": ["text"],
            "properties": {"text": {"type": "string"}, "vector": NULL, "space": NULL},
        }
    ]
    for name, (dim, metric) in (spaces or {"": (0, "dot")}).items():
        vector: dict[str, Any] = {
            "type": "array",
            "items": {"type": "number", "minimum": -VECTOR_BOUND, "maximum": VECTOR_BOUND},
        }
        if dim:
            vector["minItems"] = vector["maxItems"] = dim
        if metric == "cosine":
            vector["contains"] = {"anyOf": [{"minimum": 1e-6}, {"maximum": -1e-6}]}
        space: dict[str, Any] = {"enum": [name, None]} if name == "text" else {"const": name}
        form: dict[str, Any] = {"properties": {"text": NULL, "vector": vector}}
        form["required"] = ["vector"] if name == "text" or not name else ["vector", "space"]
        if name:
            form["properties"]["space"] = space
        forms.append(form)
    return {"anyOf": forms}
