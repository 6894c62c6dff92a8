"""`likewise tenants create|list|delete`: the tenants a store hosts beside its own catalog.

Each other command works on a tenant with `--tenant NAME`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from likewise.cli.common import emit, lines, open_tenants
from likewise.errors import InvalidInput

__all__ = ["register"]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    top = sub.add_parser("tenants", help="Several isolated catalogs in one store and server.")
    actions = top.add_subparsers(title="actions", required=True, metavar="action")
    what = "Create a tenant; prints its keys (read, events, write) once."
    p = actions.add_parser("create", parents=[common], help=what, description=what)
    p.add_argument("name", help="1-34 of a-z, 0-9, '_' and '-', starting with a letter or digit")
    p.add_argument(
        "--settings",
        metavar="JSON",
        help="the tenant's own knobs of profiles, ranking, tracking, training, as JSON",
    )
    p.set_defaults(handler=create)
    what = "Every tenant, with its settings."
    p = actions.add_parser("list", parents=[common], help=what, description=what)
    p.set_defaults(handler=list_all)
    what = "Delete a tenant and all its data."
    p = actions.add_parser("delete", parents=[common], help=what, description=what)
    p.add_argument("name")
    p.set_defaults(handler=delete)


def _settings(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        given = json.loads(text)
    except ValueError as exc:  # a JSON error, or an integer of more digits than int() reads
        raise InvalidInput(f"not JSON: {exc}", field="--settings") from None
    except RecursionError:  # the parser's own stack: nested far too deep for knobs
        raise InvalidInput("not JSON: nested too deep", field="--settings") from None
    if not isinstance(given, dict):
        raise InvalidInput("give a JSON object of knobs", field="--settings")
    return given


def create(args: argparse.Namespace) -> int:
    settings = _settings(args.settings)
    with open_tenants(args) as tenants:
        made = tenants.create(args.name, settings)
    emit(args, made, lambda: lines({"tenant": made["name"], **made["keys"]}))
    return 0


def list_all(args: argparse.Namespace) -> int:
    with open_tenants(args) as tenants:
        listed = tenants.describe()

    def text() -> str:
        return "\n".join(f"{t['name']}  {lines(t['settings'], ', ')}".rstrip() for t in listed) or (
            "(no tenants)"
        )

    emit(args, {"tenants": listed}, text)
    return 0


def delete(args: argparse.Namespace) -> int:
    with open_tenants(args) as tenants:
        tenants.delete(args.name)
    emit(args, {"deleted": args.name}, lambda: f"deleted tenant {args.name} and all its data")
    return 0
