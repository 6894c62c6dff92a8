"""Training the neural next-item model (SASRec with full cross-entropy) on the CPU with torch,
and exporting it to ONNX for :class:`likewise.retrieval.neural.NeuralNext`.

Needs the `likewise[neural]` extra (torch 2.13 CPU; onnx and onnxscript for the export);
nothing else in likewise imports torch. The network: item and position embeddings, `BLOCKS`
causal pre-norm self-attention blocks (one head, a feed-forward of twice the width, dropout
0.2), a final layer norm; an item's score is the last state times its (tied) embedding.
Each batch takes, per user, the end of the history half the time and a random full window
of it otherwise, and scores every position's next item against every item (full softmax).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

from likewise.errors import ConfigError
from likewise.onnx_export import to_onnx
from likewise.retrieval.linear import active_items
from likewise.retrieval.neural import NeuralNext

__all__ = ["fit_neural", "missing", "require"]

BLOCKS, BATCH, DROPOUT = 2, 128, 0.2
EXTRA = "pip install 'likewise[neural]'"


def missing() -> str | None:
    """What of the `likewise[neural]` extra (torch, onnx, onnxscript) cannot be imported,
    with the reason; None when all can."""
    import importlib

    for name in ("torch", "onnx", "onnxscript"):
        try:
            importlib.import_module(name)
        except (ImportError, OSError) as exc:  # OSError: a library of a broken install
            return f"{name} ({type(exc).__name__}: {exc})"
    return None


def require(field: str = "neural_epochs") -> None:
    """A :class:`ConfigError` naming `field` and what is missing, unless the extra imports."""
    gone = missing()
    if gone is not None:
        raise ConfigError(f"{field}: the neural model needs {gone}; {EXTRA}")


def fit_neural(
    sequences: Sequence[Sequence[str]],
    *,
    epochs: int,
    seconds: float,
    limit: int,
    dim: int = 64,
    length: int = 50,
    rate: float = 2e-3,
    seed: int = 0,
    threads: int = 0,
) -> NeuralNext | None:
    """Train on `sequences` (positive items, oldest first) for `epochs` passes over the
    users, or until `seconds` have passed (checked after each batch), over the `limit` most
    active items, on `threads` cores (0: torch's default, every core); None when fewer than
    two items or no history of two known items."""
    require()
    import torch

    items = active_items(sequences, limit)
    position = {item: j + 1 for j, item in enumerate(items)}  # 0 pads
    rows = [np.array([position[i] for i in s if i in position], np.int64) for s in sequences]
    rows = [r for r in rows if len(r) >= 2]
    if len(items) < 2 or not rows:
        return None
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        net = _network(len(items) + 1, dim, length)
        done, loss, spent = _train(net, rows, epochs, seconds, length, rate, rng)
        net.eval()
        graph = _export(net, length)
    finally:
        torch.set_num_threads(before)
    info = {
        "epochs": done,
        "seconds": round(spent, 1),
        "loss": loss,
        "dim": dim,
        "users": len(rows),
    }
    outputs = net.emb.weight.detach().numpy()[1:].astype(np.float32)
    return NeuralNext(list(items), graph, outputs, length, info)


def _train(
    net: Any,
    rows: Sequence[np.ndarray[Any, Any]],
    epochs: int,
    seconds: float,
    length: int,
    rate: float,
    rng: np.random.Generator,
) -> tuple[int, float | None, float]:
    """(epochs done, the last full epoch's mean loss, seconds): Adam on the full softmax."""
    import torch

    optimiser = torch.optim.Adam(net.parameters(), lr=rate)
    started, done, loss = time.perf_counter(), 0, None
    bar = tqdm(total=epochs, desc="neural", unit=" epochs", file=sys.stderr, disable=None)
    with bar:
        while done < epochs:
            order = rng.permutation(len(rows))
            total = 0.0
            for start in range(0, len(rows), BATCH):
                if time.perf_counter() - started >= seconds:
                    return done, loss, time.perf_counter() - started
                x, y = _batch([rows[u] for u in order[start : start + BATCH]], length, rng)
                logits = net(torch.from_numpy(x)) @ net.emb.weight.T
                step = torch.nn.functional.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]),
                    torch.from_numpy(y).reshape(-1),
                    ignore_index=0,
                )
                optimiser.zero_grad()
                step.backward()  # type: ignore[no-untyped-call]
                optimiser.step()
                total += step.item()
            done += 1
            loss = round(total / math.ceil(len(rows) / BATCH), 4)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")
    return done, loss, time.perf_counter() - started


def _batch(
    rows: Sequence[np.ndarray[Any, Any]], length: int, rng: np.random.Generator
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Inputs and next-item targets, `(batch, length)` each, left-padded with 0: half the
    time a history's end, else a full window ending at a random point."""
    xs = np.zeros((len(rows), length), np.int64)
    ys = np.zeros((len(rows), length), np.int64)
    for k, row in enumerate(rows):
        end = len(row)
        if rng.random() >= 0.5:
            end = int(rng.integers(min(len(row), length + 1), len(row) + 1))
        window = row[max(0, end - length - 1) : end]
        xs[k, length - len(window) + 1 :] = window[:-1]
        ys[k, length - len(window) + 1 :] = window[1:]
    return xs, ys


def _network(items: int, dim: int, length: int) -> Any:
    """The SASRec network (built here: torch is imported only when training)."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.qkv, self.out = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
            self.ff = nn.Sequential(
                nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Dropout(DROPOUT), nn.Linear(2 * dim, dim)
            )
            self.drop = nn.Dropout(DROPOUT)

        def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            q, k, v = self.qkv(self.norm1(h)).chunk(3, -1)
            attention = torch.softmax(q @ k.transpose(1, 2) * dim**-0.5 + mask, -1)
            h = h + self.drop(self.out(self.drop(attention) @ v))
            return h + self.drop(self.ff(self.norm2(h)))  # type: ignore[no-any-return]

    class SASRec(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(items, dim, padding_idx=0)
            self.pos = nn.Embedding(length, dim)
            for table in (self.emb, self.pos):
                nn.init.normal_(table.weight, std=0.05)
            with torch.no_grad():
                self.emb.weight[0].zero_()
            self.blocks = nn.ModuleList(Block() for _ in range(BLOCKS))
            self.drop = nn.Dropout(DROPOUT)
            self.norm = nn.LayerNorm(dim)
            causal = torch.triu(torch.full((length, length), -1e9), 1)
            self.register_buffer("mask", causal)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.drop(self.emb(x) + self.pos.weight[None])
            for block in self.blocks:
                h = block(h, self.mask)
            return self.norm(h)  # type: ignore[no-any-return]

    return SASRec()


def _export(net: Any, length: int) -> bytes:
    """The ONNX graph of `net` in eval mode: `items (batch, length)` -> the last `state`."""
    import torch

    class Last(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)[:, -1]  # type: ignore[no-any-return]

    example = torch.zeros(2, length, dtype=torch.int64)
    return to_onnx(Last().eval(), example, "items", "state")
