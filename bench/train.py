"""`likewise train` on MovieLens-1M: fit seconds and peak memory of the training process.

A store is built once (the ML-1M catalog with the hashing embedder: training reads events and
text vectors, not the model), the sequential protocol's history replayed into it, then
`likewise train` and `likewise train --tune` run as child processes under `/usr/bin/time`.
The baseline is the same child process doing `likewise stats` on the same store (opening it:
what any command costs before it fits anything).

    python bench/train.py [--neural-epochs 60]   # also the neural model (likewise[neural])
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from likewise import Engine, Settings
from likewise.datasets import movielens_items, movielens_ratings
from likewise.evaluation.protocols import core_rows, sequential_split


def child(data: Path, *command: str) -> tuple[float, float, str]:
    """(seconds, peak resident MB, stdout) of `likewise --data DATA COMMAND`."""
    started = time.perf_counter()
    cli = [sys.executable, "-m", "likewise.cli.main", "--data", str(data), *command]
    done = subprocess.run(
        ["/usr/bin/time", "-v", *cli],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return seconds, int(peak.group(1)) / 1024 if peak else float("nan"), done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--neural-epochs",
        type=int,
        default=0,
        help="also time `train --tune --neural-epochs N` (needs likewise[neural])",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="likewise-bench-train-"))
    try:
        data = folder / "data"
        history, _ = sequential_split(core_rows(movielens_ratings("ml-1m")))
        print(f"building the store ({len(history):,} events) ...", file=sys.stderr, flush=True)
        with Engine.open(str(data), model="hashing-64", settings=Settings()) as engine:
            engine.add_items(movielens_items("ml-1m"))
            for start in range(0, len(history), 5_000):
                engine.record_many(history[start : start + 5_000])
        rows = {"open the store (baseline: `stats`)": child(data, "stats")}
        rows["train"] = child(data, "--json", "train")
        rows["train --tune"] = child(data, "--json", "train", "--tune")
        if args.neural_epochs:  # the likewise[neural] extra's SASRec, trained once in --tune
            neural = ("--neural-epochs", str(args.neural_epochs))
            rows[f"train --tune {' '.join(neural)}"] = child(
                data, "--json", "train", "--tune", *neural
            )
        base = rows["open the store (baseline: `stats`)"]
        print("\n## likewise train, MovieLens-1M (RecBole sequential history, 2 cores)")
        print("| command | seconds | peak MB | seconds over the baseline | MB over it |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, (seconds, peak, _) in rows.items():
            print(
                f"| {name} | {seconds:.1f} | {peak:,.0f} | {seconds - base[0]:+.1f} | "
                f"{peak - base[1]:+,.0f} |"
            )
        for name in list(rows)[1:]:
            info = json.loads(rows[name][2])
            fits = ", ".join(f"{k} {v:g} s" for k, v in info["seconds"].items())
            print(f"\n{name}: {fits}; weights {info['weights']}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
