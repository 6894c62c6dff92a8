"""`likewise users load|properties` and `likewise segments list|create|delete|users`: users'
properties and the segments (named filters) over them."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

from likewise.cli.common import emit, lines, open_engine, plain, refuse_file, skipped
from likewise.cli.options import shared
from likewise.errors import InvalidInput
from likewise.items.loaders import csv_value, json_object, read_rows

__all__ = ["register"]

BATCH = 1_000  # users per transaction on load


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    def group(name: str, help: str) -> Any:
        top = sub.add_parser(name, help=help, description=help)
        return top.add_subparsers(title="actions", required=True, metavar="action")

    def add(actions: Any, name: str, fn: Callable[[argparse.Namespace], int], help: str) -> Any:
        parser = actions.add_parser(name, parents=[shared(common)], help=help, description=help)
        parser.set_defaults(handler=fn)
        return parser

    users = group("users", "Users' properties (country, plan, age band...).")
    p = add(users, "load", load, "Set users' properties from a .jsonl, .json or .csv file.")
    p.add_argument(
        "file",
        help='lines {"id": "u1", "properties": {"plan": "premium"}}, or a CSV with an id '
        "column and one column per property; - reads standard input",
    )
    p.add_argument("--replace", action="store_true", help="replace, not merge, each user's")
    p.add_argument("--skip-invalid", action="store_true", help="load the good lines, list the bad")
    p = add(users, "properties", properties, "Show a user's properties, or set them (--set).")
    p.add_argument("user")
    p.add_argument("--set", metavar="JSON", help='merge these, e.g. \'{"plan": "premium"}\'')
    p.add_argument("--replace", action="store_true", help="with --set: replace them all")

    segments = group("segments", "Segments: named filters over users' properties.")
    add(segments, "list", list_all, "Every segment with its filter.")
    p = add(segments, "create", create, "Create or replace a segment.")
    p.add_argument("name", help="1-40 lowercase letters, digits, '-' or '_'")
    p.add_argument(
        "--where", required=True, help='the filter, e.g. \'{"plan": "premium"}\' (as items\')'
    )
    p = add(segments, "delete", delete, "Delete a segment.")
    p.add_argument("name")
    p = add(segments, "users", members, "The ids of the users in a segment, one a line.")
    p.add_argument("name")


def _csv_user(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as a record: the `id` column, every other non-empty cell a property."""
    props = {k: csv_value(v) for k, v in row.items() if k != "id" and v != ""}
    return {"id": row["id"], "properties": props}


def load(args: argparse.Namespace) -> int:
    errors: list[InvalidInput] = []
    records: list[Any] = []
    places: list[int] = []
    for line, found in read_rows(args.file, required="id", convert=_csv_user):
        if isinstance(found, InvalidInput):
            errors.append(found)
        else:
            records.append(found)
            places.append(line)
    with open_engine(args) as engine:
        bad = engine.check_user_records(records)
        errors += [InvalidInput(exc.reason, field=exc.field, line=places[k]) for k, exc in bad]
        errors.sort(key=lambda err: err.line or 0)
        if errors and not args.skip_invalid:
            return refuse_file(args, errors, "no properties were set", "use --skip-invalid")
        left_out = skipped(args, errors)
        skip = {k for k, _ in bad}
        good = [r for k, r in enumerate(records) if k not in skip]
        with tqdm(total=len(good), desc="users", file=sys.stderr, disable=None) as bar:
            for start in range(0, len(good), BATCH):
                batch = good[start : start + BATCH]
                bar.update(engine.set_many_user_properties(batch, replace=args.replace))
    data = {"loaded": len(good), "skipped": len(errors)}
    emit(args, {**data, "skipped_lines": left_out}, lambda: lines(data, "  "))
    return 0


def properties(args: argparse.Namespace) -> int:
    given = json_object(args.set, "--set")
    if args.replace and given is None:
        raise InvalidInput("applies with --set only", field="--replace")
    with open_engine(args) as engine:
        if given is None:
            found = engine.user_properties(args.user)
        else:
            found = engine.set_user_properties(args.user, given, replace=args.replace)
    emit(args, found, lambda: lines(found) if found else "(no properties)")
    return 0


def list_all(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        rows = engine.list_segments()
    text = "\n".join(f"{s['name']}  {plain(s['where'])}" for s in rows) or "no segments"
    emit(args, rows, lambda: text)
    return 0


def create(args: argparse.Namespace) -> int:
    where = json_object(args.where, "--where")
    if where is None:
        raise InvalidInput("must be a filter object", field="--where")
    with open_engine(args) as engine:
        made = engine.create_segment(args.name, where)
    done = "created" if made["created"] else "replaced"
    emit(args, made, lambda: f"{done} segment {made['name']}: {plain(made['where'])}")
    return 0


def delete(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        engine.delete_segment(args.name)
    emit(args, {"name": args.name, "deleted": True}, lambda: f"deleted segment {args.name}")
    return 0


def members(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        found = engine.segment_users(args.name)  # NotFound before anything is printed
        if args.json:  # one JSON array, streamed: a segment may hold millions
            print("[", end="")
            for k, user in enumerate(found):
                print(("" if k == 0 else ", ") + json.dumps(user, ensure_ascii=False), end="")
            print("]")
        else:
            for user in found:
                print(user)
    return 0
