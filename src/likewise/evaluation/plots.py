"""The PNG plots of an evaluation report, drawn with matplotlib (no display).

matplotlib is the `likewise[plots]` extra, not a dependency: it is 35 MB that only these plots
use, so a server install goes without it and a report without it is `index.md` alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from likewise.evaluation.replay import Result

__all__ = ["PLOTS_HINT", "available", "draw"]

# The one line `likewise eval --out` prints when it writes a report without plots.
PLOTS_HINT = "no plots in the report: matplotlib is not installed (pip install 'likewise[plots]')"


def available() -> bool:
    """Whether matplotlib can be imported, so the report can carry its plots."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def draw(
    folder: Path, results: Sequence[Result], tuning: Sequence[tuple[str, float, Result]]
) -> list[str]:
    """Write `accuracy.png` (NDCG and HR with intervals), `tradeoff.png` (NDCG against
    intra-list diversity) and one `<parameter>.png` sweep per tuned parameter (e.g.
    `alpha.png`); returns the tuned parameters' names, in order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _accuracy(plt, folder, results)
    _tradeoff(plt, folder, results)
    names = list(dict.fromkeys(name for name, _, _ in tuning))
    for name in names:
        _sweep(plt, folder, name, [(v, r) for n, v, r in tuning if n == name])
    return names


def _accuracy(plt: Any, folder: Path, results: Sequence[Result]) -> None:
    names = [r.strategy for r in results]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, label, values, cis in (
        (axes[0], "NDCG", [r.ndcg for r in results], [r.ndcg_ci for r in results]),
        (axes[1], "HR", [r.hr for r in results], [r.hr_ci for r in results]),
    ):
        low = [v - c[0] for v, c in zip(values, cis, strict=True)]
        high = [c[1] - v for v, c in zip(values, cis, strict=True)]
        ax.bar(names, values, yerr=[low, high], capsize=4, color="#4c72b0")
        ax.set_title(f"{label}@{results[0].k if results else 10} (95% bootstrap CI)")
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(folder / "accuracy.png", dpi=120)
    plt.close(fig)


def _tradeoff(plt: Any, folder: Path, results: Sequence[Result]) -> None:
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.scatter([r.diversity for r in results], [r.ndcg for r in results], color="#dd8452")
    for r in results:
        ax.annotate(r.strategy, (r.diversity, r.ndcg), textcoords="offset points", xytext=(4, 4))
    ax.set_xlabel("intra-list diversity")
    ax.set_ylabel("NDCG")
    ax.set_title("accuracy against diversity")
    fig.tight_layout()
    fig.savefig(folder / "tradeoff.png", dpi=120)
    plt.close(fig)


def _sweep(plt: Any, folder: Path, name: str, sweep: list[tuple[float, Result]]) -> None:
    fig, ax = plt.subplots(figsize=(5, 3.6))
    low = [r.ndcg - r.ndcg_ci[0] for _, r in sweep]
    high = [r.ndcg_ci[1] - r.ndcg for _, r in sweep]
    ax.errorbar([v for v, _ in sweep], [r.ndcg for _, r in sweep], yerr=[low, high], marker="o")
    ax.set_xlabel(name)
    ax.set_ylabel(f"NDCG@{sweep[0][1].k} (validation)")
    ax.set_title(f"{name} sweep, {sweep[0][1].strategy}")
    fig.tight_layout()
    fig.savefig(folder / f"{name}.png", dpi=120)
    plt.close(fig)
