"""The personalisation subcommands: events, recommendations and profiles."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

from likewise.cli.common import (
    emit,
    lines,
    new_store,
    open_engine,
    parse_where,
    refuse_file,
    show_recommendation,
    skipped,
)
from likewise.cli.lists import SPACES_HELP
from likewise.cli.options import shared
from likewise.engine import Engine
from likewise.errors import InvalidInput
from likewise.events import UNKNOWN_ITEMS, load_events
from likewise.items.loaders import json_object
from likewise.recommend import RECOMMENDERS
from likewise.recommend.spaces import parse_spaces
from likewise.retrieval.neural import describe

SubParsers = Any  # argparse's _SubParsersAction is private
Handler = Callable[[argparse.Namespace], int]
BATCH = 5_000  # events per durable transaction on import


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    def add(
        parent: SubParsers, name: str, fn: Callable[[argparse.Namespace], int], help: str
    ) -> Any:
        parser = parent.add_parser(name, parents=[shared(common)], help=help, description=help)
        parser.set_defaults(handler=fn)
        return parser

    p = add(sub, "event", record_event, "Record one event and update the user's profile.")
    p.add_argument("user")
    p.add_argument("item")
    p.add_argument("type", help="view, click, like, dislike, purchase, skip, rating, dwell, ...")
    p.add_argument("--value", type=float, help="rating (1-5 by default) or dwell seconds")
    p.add_argument("--event-id", help="a resend with the same id is a no-op")
    p.add_argument("--context", help='JSON, e.g. \'{"device": "mobile"}\'')
    p.add_argument("--timestamp", help="seconds since the epoch or ISO-8601 (default now)")

    events = sub.add_parser("events", help="Import, list or delete events.")
    events_sub = events.add_subparsers(title="actions", required=True, metavar="action")
    p = add(events_sub, "import", import_events, "Record the events of a .jsonl or .csv file.")
    p.add_argument(
        "file",
        help="columns user_id, item_id, type, value, timestamp, event_id (JSONL or CSV; - reads "
        "JSONL from stdin)",
    )
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="record the valid events and report each bad line (default: record nothing)",
    )
    p.add_argument(
        "--unknown-items",
        choices=UNKNOWN_ITEMS,
        help="an event on an item not in the store: reject the file, create the item (just "
        "its id) or skip the event (default: LIKEWISE_UNKNOWN_ITEMS, else reject)",
    )

    p = add(events_sub, "list", list_events, "A user's events, newest first, a page at a time.")
    p.add_argument("user")
    p.add_argument("--limit", type=int, default=100, help="events per page (default 100)")
    p.add_argument("--cursor", help="the cursor a page printed: older events")
    p = add(
        events_sub,
        "delete",
        delete_events,
        "Delete a user's events and their profile (the lists they saw stay in the reports).",
    )
    p.add_argument("user")

    p = add(sub, "recommend", recommend, "Items for a user (popular ones for a new user).")
    p.add_argument("user")
    p.add_argument("-n", "--n", type=int, default=10, help="how many (default 10)")
    p.add_argument("--strategy", choices=RECOMMENDERS, help="default from LIKEWISE_STRATEGY")
    p.add_argument("--where", help='metadata filter as JSON, e.g. \'{"category": "news"}\'')
    p.add_argument("--exclude", action="append", default=[], metavar="ID", help="repeatable")
    p.add_argument("--include-seen", action="store_true", help="keep items the user has seen")
    p.add_argument("--offset", type=int, default=0, help="skip this many better items (paging)")
    p.add_argument("--min-score", type=float, help="leave out items scored below this")
    p.add_argument(
        "--weights",
        help='hybrid source weights as JSON, e.g. \'{"collaborative": 1, "content": 0.5}\'',
    )
    p.add_argument("--diversity", type=float, help="hybrid variety, 0 to 1 (default: settings)")
    p.add_argument(
        "--space",
        default="text",
        help="where a profile strategy searches: text, behaviour (after train), or any "
        "other space (image, your own)",
    )
    p.add_argument("--spaces", help=SPACES_HELP)
    p.add_argument(
        "--track",
        action="store_true",
        help="log the list as an impression (counted in the CTR and A/B reports; off by default)",
    )

    p = add(sub, "profile", profile, "What likewise knows of a user.")
    p.add_argument("user")
    p.add_argument("-n", "--n", type=int, default=5, help="nearest items to show (default 5)")

    p = add(sub, "onboard", onboard, "Start a new user from text and/or chosen items.")
    p.add_argument("user")
    p.add_argument("--text", help='interests in words, e.g. "space, cooking"')
    p.add_argument("--item", action="append", default=[], metavar="ID", help="repeatable")

    p = add(sub, "train", train, "Fit the models the hybrid blends and the behaviour space.")
    p.add_argument(
        "--tune",
        action="store_true",
        help="fit the hybrid's weights on each user's validation item (kept with the model)",
    )
    p.add_argument(
        "--neural-epochs",
        type=int,
        metavar="N",
        help="also train the neural next-item model (SASRec; needs likewise[neural]) for N "
        "passes (default: the neural_epochs setting, 0: not trained)",
    )

    profiles = sub.add_parser("profiles", help="Maintain every profile.")
    profiles_sub = profiles.add_subparsers(title="actions", required=True, metavar="action")
    add(profiles_sub, "rebuild", rebuild, "Replay the event log into fresh profiles.")


def record_event(args: argparse.Namespace) -> int:
    context = None if (args.context or "").strip() == "null" else args.context  # as HTTP's null
    given = {
        "value": args.value,
        "context": json_object(context, "--context"),  # deep or huge JSON named too
        "timestamp": args.timestamp,
        "event_id": args.event_id,
    }
    event = {"user_id": args.user, "item_id": args.item, "type": args.type}
    event |= {k: v for k, v in given.items() if v is not None}
    with open_engine(args) as engine:
        report = engine.record_event(event)
    new = report.accepted == 1
    text = "recorded" if new else "already recorded (same event id)"
    emit(args, report.as_dict(), lambda: text)  # --json: what POST /v1/events answers
    return 0


def import_events(args: argparse.Namespace) -> int:
    loaded = load_events(args.file)
    policy = args.unknown_items

    def problems(engine: Engine) -> tuple[list[InvalidInput], list[tuple[int, InvalidInput]]]:
        bad = engine.check_events(loaded.events, unknown_items=policy)
        errors = loaded.errors + [
            InvalidInput(exc.reason, field=exc.field, line=loaded.lines[i]) for i, exc in bad
        ]
        return sorted(errors, key=lambda err: err.line or 0), bad

    with new_store(args) as (scratch, options):  # a refused file makes no store
        errors = [] if scratch is None or args.skip_invalid else problems(scratch)[0]
        if errors:
            return refuse_file(args, errors, "nothing was recorded", "use --skip-invalid")
    with open_engine(args, create=True, **options) as engine:
        errors, bad = problems(engine)
        if errors and not args.skip_invalid:
            return refuse_file(args, errors, "nothing was recorded", "use --skip-invalid")
        left_out = skipped(args, errors)
        skip = {i for i, _ in bad}
        events = [e for i, e in enumerate(loaded.events) if i not in skip]
        total = Counter[str]()
        with tqdm(total=len(events), desc="events", file=sys.stderr, disable=None) as bar:
            for start in range(0, len(events), BATCH):
                report = engine.record_many(events[start : start + BATCH], unknown_items=policy)
                total.update(report.as_dict())
                bar.update(report.accepted + report.duplicates + report.skipped)
    # skipped: the bad lines left out (--skip-invalid) and the events on unknown items (skip)
    data = {
        "accepted": total["accepted"],
        "duplicates": total["duplicates"],
        "skipped": len(errors) + total["skipped"],
        "created": total["created"],
    }
    emit(args, {**data, "skipped_lines": left_out}, lambda: lines(data, "  "))
    return 0


def recommend(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        rec = engine.recommend(
            args.user,
            n=args.n,
            strategy=args.strategy,
            where=parse_where(args.where),
            exclude=args.exclude,
            include_seen=args.include_seen,
            weights=json_object(args.weights, "weights"),
            diversity=args.diversity,
            space=args.space,
            spaces=parse_spaces(args.spaces),
            offset=args.offset,
            min_score=args.min_score,
            track=args.track,
        )
        show_recommendation(args, engine, rec)
    return 0


def list_events(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        page = engine.user_events(args.user, limit=args.limit, cursor=args.cursor)
    data = page.as_dict()

    def table() -> str:
        lines = [
            f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(e.timestamp))}  {e.type:<8}  "
            f"{e.item_id}" + ("" if e.value is None else f"  {e.value:g}")
            for e in page.events
        ] or ["(no events)"]
        if page.next_cursor is not None:
            lines.append(f"older: --cursor {page.next_cursor}")
        return "\n".join(lines)

    emit(args, data, table)
    return 0


def delete_events(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        deleted = engine.delete_user_events(args.user)
    emit(args, {"user_id": args.user, "deleted": deleted}, lambda: f"deleted: {deleted}")
    return 0


def profile(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        data = engine.profile(args.user, n=args.n)
    emit(args, data, lambda: lines(data))
    return 0


def onboard(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        engine.onboard(args.user, text=args.text, items=args.item)
    emit(args, {"onboarded": args.user}, lambda: f"onboarded: {args.user}")
    return 0


def rebuild(args: argparse.Namespace) -> int:
    users = _over_the_log(args, "replay", lambda engine, bar: engine.rebuild_profiles(progress=bar))
    emit(args, {"rebuilt": users}, lambda: f"rebuilt: {users} profiles")
    return 0


def train(args: argparse.Namespace) -> int:
    info: dict[str, Any] = {}

    def fit(engine: Engine, bar: Callable[[int], object]) -> int:
        info.update(engine.train(tune=args.tune, neural_epochs=args.neural_epochs, progress=bar))
        return int(info.get("items", 0))

    _over_the_log(args, "train", fit)

    def text() -> str:
        seconds = ", ".join(f"{k} {v:g} s" for k, v in info.get("seconds", {}).items())
        weights = ", ".join(f"{k} {v:g}" for k, v in info.get("weights", {}).items() if v)
        lines = [
            f"trained {info.get('version', '')}: {info.get('items', 0)} items, "
            f"{info.get('users', 0)} users ({seconds})",
            f"dense models over {info.get('dense_items', 0)} items; behaviour space: "
            f"{info.get('behaviour_items', 0)} items",
            f"hybrid weights: {weights or '(none)'}",
        ]
        neural = info.get("neural")
        if neural:
            lines.insert(2, f"neural model: {describe(neural)}")
        tuning = info.get("tuning")
        if tuning:
            alone = ", ".join(f"{k} {v:.4f}" for k, v in tuning["alone"].items())
            lines.append(f"tuned NDCG@10 on validation items: {tuning['ndcg']:.4f} ({alone})")
        return "\n".join(lines)

    emit(args, info, text)
    return 0


def _over_the_log(
    args: argparse.Namespace, what: str, run: Callable[[Engine, Callable[[int], object]], int]
) -> int:
    """Run a pass over the whole event log with a progress bar."""
    with open_engine(args) as engine:
        total = engine.stats()["events"]
        with tqdm(total=total, desc=what, unit=" events", file=sys.stderr, disable=None) as bar:
            return run(engine, bar.update)
