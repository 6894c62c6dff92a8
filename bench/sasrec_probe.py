"""A probe for the next session: SASRec trained with full cross-entropy on the RecBole
sequential ML-1M split, on the CPU, within a time budget (not part of likewise yet).

Needs torch 2.13 CPU (`pip install torch==2.13.0`, a file on disk here). Prints HR@10 and
NDCG@10 on 1,536 users every 5 epochs (for watching only), then on every user at the end.

    python bench/sasrec_probe.py [SECONDS=840] [DIM=64] [LR=0.002]
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from likewise.datasets import movielens_ratings
from likewise.evaluation.protocols import core_rows, sequential_split

LENGTH, BATCH = 50, 128


class SASRec(nn.Module):
    """Item and position embeddings, two causal pre-norm blocks, tied output embeddings."""

    def __init__(self, items: int, dim: int) -> None:
        super().__init__()
        self.emb = nn.Embedding(items, dim, padding_idx=0)
        self.pos = nn.Embedding(LENGTH, dim)
        for table in (self.emb, self.pos):
            nn.init.normal_(table.weight, std=0.05)
        self.drop = nn.Dropout(0.2)
        layer = nn.TransformerEncoderLayer(dim, 1, 2 * dim, 0.2, batch_first=True, norm_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.register_buffer("mask", torch.triu(torch.full((LENGTH, LENGTH), -math.inf), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.drop(self.emb(x) + self.pos.weight[None])
        return self.norm(self.enc(h, mask=self.mask))  # type: ignore[no-any-return]


def pad(row: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    row = row[-LENGTH:]
    return np.concatenate([np.zeros(LENGTH - len(row), dtype=np.int64), row])


def main() -> None:
    budget = float(sys.argv[1]) if len(sys.argv) > 1 else 840.0
    dim = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    rate = float(sys.argv[3]) if len(sys.argv) > 3 else 2e-3
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    history, targets = sequential_split(core_rows(movielens_ratings("ml-1m")))
    seqs: dict[str, list[str]] = {}
    for e in history:
        seqs.setdefault(e["user_id"], []).append(e["item_id"])
    users = sorted(targets)
    items = sorted({i for s in seqs.values() for i in s} | set(targets.values()))
    index = {item: k + 1 for k, item in enumerate(items)}
    rows = [np.array([index[i] for i in seqs[u]]) for u in users]
    model = SASRec(len(items) + 1, dim)
    opt = torch.optim.Adam(model.parameters(), lr=rate)
    last = torch.tensor(np.stack([pad(r) for r in rows]))
    truth = np.array([index[targets[u]] for u in users])

    def batch(ids: np.ndarray[Any, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = [], []
        for u in ids:  # half the time a random window of the history, else its end
            row = rows[u]
            end = len(row) if rng.random() < 0.5 else rng.integers(min(len(row), 51), len(row) + 1)
            window = row[max(0, end - LENGTH - 1) : end]
            xs.append(pad(window[:-1]))
            ys.append(pad(window[1:]))
        return torch.tensor(np.stack(xs)), torch.tensor(np.stack(ys))

    def evaluate(n: int) -> tuple[float, float]:
        model.eval()
        hits = gain = 0.0
        with torch.no_grad():
            for b in range(0, n, 512):
                logits = model(last[b : b + 512])[:, -1] @ model.emb.weight.T
                logits[:, 0] = -1e9
                for r in range(logits.shape[0]):
                    logits[r, torch.from_numpy(rows[b + r])] = -1e9
                for r, top in enumerate(torch.topk(logits, 10).indices.numpy()):
                    at = np.flatnonzero(top == truth[b + r])
                    if len(at):
                        hits += 1
                        gain += 1 / math.log2(at[0] + 2)
        model.train()
        return round(hits / n, 4), round(gain / n, 4)

    started, epoch = time.time(), 0
    while time.time() - started < budget:
        epoch += 1
        order = rng.permutation(len(users))
        for b in range(0, len(users), BATCH):
            x, y = batch(order[b : b + BATCH])
            logits = model(x) @ model.emb.weight.T
            loss = nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=0
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
        if epoch % 5 == 0:
            print(epoch, round(time.time() - started), evaluate(1536), flush=True)
    print("final", epoch, round(time.time() - started), evaluate(len(users)), flush=True)


if __name__ == "__main__":
    main()
