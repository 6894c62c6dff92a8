"""An evaluation report: `index.md` with the table, and PNG plots where matplotlib is installed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from likewise.evaluation import plots
from likewise.evaluation.replay import Result
from likewise.retrieval.neural import describe

__all__ = ["markdown_table", "model_note", "threshold_note", "write_report"]


def markdown_table(results: Sequence[Result], title: str) -> str:
    k = results[0].k if results else 10
    lines = [
        title,
        "",
        f"| strategy | HR@{k} (95% CI) | NDCG@{k} (95% CI) | MRR@{k} | coverage | ILD | "
        "novelty | seconds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.strategy} | {r.hr:.4f} ({r.hr_ci[0]:.4f}-{r.hr_ci[1]:.4f}) | "
            f"{r.ndcg:.4f} ({r.ndcg_ci[0]:.4f}-{r.ndcg_ci[1]:.4f}) | {r.mrr:.4f} | "
            f"{r.coverage:.3f} | {r.diversity:.3f} | {r.novelty:.2f} | {r.seconds:.1f} |"
        )
    return "\n".join(lines)


def write_report(
    folder: Path,
    results: Sequence[Result],
    title: str,
    command: str,
    tuning: Sequence[tuple[str, float, Result]] = (),
    notes: str = "",
) -> Path:
    """Write `index.md` and, where matplotlib is installed (`likewise[plots]`), its plots
    (`plots.draw`); returns the index. Without matplotlib the index says how to get them."""
    folder.mkdir(parents=True, exist_ok=True)
    plotted = plots.available()
    if plotted:
        plots.draw(folder, results, tuning)
        figures = "![accuracy](accuracy.png)\n\n![accuracy against diversity](tradeoff.png)"
    else:
        figures = "No plots: matplotlib is not installed (`pip install 'likewise[plots]'`)."
    extra = ""
    if tuning:
        names = list(dict.fromkeys(name for name, _, _ in tuning))
        sweeps = [f"![{name} sweep]({name}.png)" for name in names] if plotted else []
        rows = "\n".join(f"| {n} | {v:g} | {r.ndcg:.4f} | {r.hr:.4f} |" for n, v, r in tuning)
        extra = (
            "\n\n## Tuning on the validation item\n\n"
            "One parameter at a time, in this order, each at the best value found so far.\n\n"
            f"| parameter | value | NDCG | HR |\n| --- | ---: | ---: | ---: |\n{rows}"
            + "".join(f"\n\n{sweep}" for sweep in sweeps)
        )
    index = folder / "index.md"
    index.write_text(
        f"{markdown_table(results, '# ' + title)}{notes}\n\nReproduce with `{command}`.\n\n"
        f"{figures}{extra}\n",
        encoding="utf-8",
    )
    return index


def model_note(model: dict[str, Any] | None) -> str:
    """The model a report's figures came from: what was fit, how long, the weights used."""
    if not model:
        return ""
    seconds = ", ".join(f"{k} {v:g} s" for k, v in model.get("seconds", {}).items())
    weights = ", ".join(f"{k} {v:g}" for k, v in model.get("weights", {}).items() if v)
    note = (
        f"\n\nModel {model.get('version', '')[:8]}: {model.get('items', 0):,} items "
        f"({model.get('dense_items', 0):,} in the dense models), {model.get('users', 0):,} "
        f"users; fit in {seconds}."
    )
    neural = model.get("neural")
    if neural:
        note += f" Neural model: {describe(neural)}."
    note += f" Hybrid weights: {weights or '(none)'}"
    tuning = model.get("tuning")
    if tuning:
        alone = ", ".join(f"{k} {v:.4f}" for k, v in tuning["alone"].items())
        chosen = ", ".join(
            f"{k} {v:g}" for k, v in tuning.items() if k not in ("weights", "ndcg", "alone")
        )
        note += (
            f", fit on each user's validation item (NDCG@10 {tuning['ndcg']:.4f}; "
            f"each source alone: {alone})" + (f"; also chosen there: {chosen}" if chosen else "")
        )
    return note + "."


def threshold_note(results: Sequence[Result], loss: float | None) -> str:
    """The `min_score` each strategy would serve with to keep all but `loss` of its hits."""
    if loss is None:
        return ""
    lines = [
        f"\n\nmin_score that keeps {1 - loss:.0%} of the hits (`--tune-min-score {loss:g}`), "
        "read off these same held-out items (in sample: the HR after is optimistic):",
        "",
        "| strategy | k | min_score | list slots cut | HR after |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        if r.min_score is None or r.slots_cut is None or r.hits_kept is None:
            lines.append(f"| {r.strategy} | {r.k} | (no hits) | | |")
            continue
        after = r.hr * r.hits_kept
        lines.append(
            f"| {r.strategy} | {r.k} | {r.min_score:.4f} | {r.slots_cut:.1%} | {after:.4f} |"
        )
    return "\n".join(lines)
