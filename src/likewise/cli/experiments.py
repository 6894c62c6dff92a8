"""`likewise experiment create|list|report|stop`: A/B experiments over the stored impressions."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from likewise.cli.common import emit, open_engine
from likewise.cli.options import shared

__all__ = ["register"]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    top = sub.add_parser("experiment", help="A/B experiments between ways of recommending.")
    actions = top.add_subparsers(title="actions", required=True, metavar="action")

    def add(name: str, fn: Callable[[argparse.Namespace], int], help: str) -> Any:
        # argparse %-formats help (not descriptions): "95%" would crash `--help`
        parser = actions.add_parser(
            name, parents=[shared(common)], help=help.replace("%", "%%"), description=help
        )
        parser.set_defaults(handler=fn)
        return parser

    p = add("create", create, "Start an experiment; users are bucketed by id.")
    p.add_argument("name", help="1-40 lowercase letters, digits, '-' or '_'")
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        required=True,
        metavar="NAME:SETTINGS",
        help="repeatable: a:strategy=ema or b:strategy=hybrid,diversity=0.3 (also weights={...})",
    )
    p.add_argument("--split", help="shares, one per variant, e.g. 50/50 (default: equal)")
    p.add_argument("--segment", help="only users in this segment take part")
    add("list", list_all, "Every experiment, running or stopped.")
    p = add("report", show, "Per-variant CTR with 95% intervals and a two-proportion test.")
    p.add_argument("name")
    p = add("stop", stop, "Stop an experiment; --promote VARIANT makes it the default.")
    p.add_argument("name")
    p.add_argument("--promote", metavar="VARIANT", help="the variant to serve from now on")


def create(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        experiment = engine.create_experiment(
            args.name, args.variant, split=args.split, segment=args.segment
        )
    data = experiment.as_dict()
    emit(
        args,
        data,
        lambda: f"started {experiment.name}: " + ", ".join(_arm(v) for v in data["variants"]),
    )
    return 0


def list_all(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        rows = [e.as_dict() for e in engine.list_experiments()]

    def text() -> str:
        if not rows:
            return "no experiments"
        return "\n".join(
            f"{e['name']}  {'running' if e['running'] else 'stopped'}"
            + (f", winner {e['winner']}" if e["winner"] else "")
            + (f", segment {e['segment']}" if e.get("segment") else "")
            + "  "
            + ", ".join(_arm(v) for v in e["variants"])
            for e in rows
        )

    emit(args, rows, text)
    return 0


def show(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        data = engine.experiment_report(args.name)

    def text() -> str:
        lines = [
            f"experiment {args.name} ({'running' if data['experiment']['running'] else 'stopped'})",
            "| variant | settings | impressions | clicks | CTR (95% CI) | conversions |",
            "| --- | --- | ---: | ---: | ---: | ---: |",
        ]
        for r in data["variants"]:
            low, high = r["ctr_ci95"]
            lines.append(
                f"| {r['variant']} | {_settings(r)} | {r['impressions']} | {r['clicks']} | "
                f"{r['ctr']:.2%} ({low:.2%}-{high:.2%}) | {r['conversions']} |"
            )
        return "\n".join([*lines, "", data["summary"]])

    emit(args, data, text)
    return 0


def stop(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        experiment = engine.stop_experiment(args.name, promote=args.promote)
    data = experiment.as_dict()
    promoted = f"; {args.promote} is now the default" if args.promote else ""
    emit(args, data, lambda: f"stopped {experiment.name}{promoted}")
    return 0


def _arm(v: dict[str, Any]) -> str:
    return f"{v['name']} ({v['share']:.0%}: {_settings(v)})"


def _settings(v: dict[str, Any]) -> str:
    out = f"strategy={v['strategy']}"
    if v.get("diversity") is not None:
        out += f",diversity={v['diversity']:g}"
    if v.get("weights"):
        out += ",weights=" + ",".join(f"{k}:{w:g}" for k, w in v["weights"].items())
    return out
