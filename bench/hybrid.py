"""Does blending beat every single signal? MovieLens-1M, temporal leave-last-out.

Each user's last rating (by time) is the test item, the one before it the validation item;
everything earlier is their history. Sources score every item the user has not rated:
- popular: how many users rated the item in the histories;
- content: the user's interest vector, built by replaying their history through the profile
  code (`likewise.profiles.apply`, default signals and strategy), against MiniLM embeddings of
  title and genres;
- collaborative: item-item co-occurrence (`likewise.retrieval.ItemItem`, cosine, top 100
  neighbours of each candidate) summed over the user's positive history, newest weighted
  most (0.9 ** age), as `ItemItem.scores` serves it;
- hybrid: per-user min-max of each source, weighted (`likewise.ranking.weighted`); weights are
  picked on the validation item, then reported on the test item.
MMR (`likewise.ranking.mmr`) and the greedy DPP (`likewise.ranking.dpp`) re-rank the hybrid's
top 50, with genre vectors or MiniLM embeddings as the similarity; intra-list diversity (ILD)
is the mean pairwise cosine distance of the 10 items, in either space, reported beside its
change from the plain top 10 (the baseline, same run).

    python bench/hybrid.py
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from typing import Any

import numpy as np
import scipy.sparse as sp

from likewise.datasets import movielens_items, movielens_ratings
from likewise.embedders import get_embedder
from likewise.evaluation import hit_rate, ndcg
from likewise.events import Event, SignalRules
from likewise.items import ContentTemplate, parse_item
from likewise.profiles import ProfileConfig, ProfileState, Step, apply
from likewise.ranking import dpp, intra_list_diversity, mmr
from likewise.retrieval import ItemItem

Matrix = np.ndarray[Any, np.dtype[np.float32]]
K = 10
CANDIDATES = 5 * K  # MMR draws from n x 5


def load() -> tuple[list[str], Matrix, dict[str, list[dict[str, Any]]]]:
    records = movielens_items("ml-1m")
    ids = [r["id"] for r in records]
    template = ContentTemplate.parse("title,tags")
    started = time.perf_counter()
    vectors = get_embedder("minilm").embed([template.render(parse_item(r)) for r in records])
    print(f"embedded {len(ids):,} titles in {time.perf_counter() - started:.1f} s")
    users: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in movielens_ratings("ml-1m"):
        users[event["user_id"]].append(event)
    return ids, vectors, users


def scores(
    ids: list[str], vectors: Matrix, histories: dict[str, list[dict[str, Any]]]
) -> dict[str, Matrix]:
    """Every source's score matrix (users x items); rated items are -inf."""
    position = {item: i for i, item in enumerate(ids)}
    users = list(histories)
    rules, config = SignalRules(), ProfileConfig()
    seen = np.zeros((len(users), len(ids)), dtype=bool)
    popular = np.zeros(len(ids), dtype=np.float32)
    interest = np.zeros((len(users), vectors.shape[1]), dtype=np.float32)
    positives: list[list[str]] = []
    for u, user in enumerate(users):
        steps, liked = [], []
        for e in histories[user]:
            i = position[e["item_id"]]
            seen[u, i] = True
            popular[i] += 1
            signal = rules.signal(Event.model_validate(e))
            steps.append(Step(e["item_id"], vectors[i], signal, e["timestamp"]))
            if signal > 0:
                liked.append(e["item_id"])
        state, _ = apply(ProfileState(user), steps, config)
        if state.interest is not None:
            interest[u] = state.interest
        positives.append(liked)
    model = ItemItem.fit(positives, k=100)
    columns = np.array([position[item] for item in model.items])
    weights = sp.lil_matrix((len(users), len(model.items)), dtype=np.float32)
    where = {item: j for j, item in enumerate(model.items)}
    for u, liked in enumerate(positives):
        for age, item in enumerate(reversed(liked[-50:])):
            weights[u, where[item]] = 0.9**age
    collab_small = np.asarray((weights.tocsr() @ model.matrix().T).todense(), dtype=np.float32)
    collab = np.zeros((len(users), len(ids)), dtype=np.float32)
    collab[:, columns] = collab_small
    out = {
        "popular": np.tile(popular, (len(users), 1)),
        "content": interest @ vectors.T,
        "collaborative": collab,
    }
    for matrix in out.values():
        matrix[seen] = -np.inf
    return out


def minmax_rows(matrix: Matrix) -> Matrix:
    finite = np.where(np.isfinite(matrix), matrix, np.nan)
    low = np.nanmin(finite, axis=1, keepdims=True)
    high = np.nanmax(finite, axis=1, keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    return np.where(np.isfinite(matrix), (matrix - low) / span, -np.inf).astype(np.float32)


def evaluate(matrix: Matrix, ids: list[str], targets: list[str]) -> tuple[float, float]:
    top = np.argpartition(-matrix, K, axis=1)[:, :K]
    hr = nd = 0.0
    for u, target in enumerate(targets):
        row = top[u][np.argsort(-matrix[u, top[u]])]
        ranked = [ids[i] for i in row]
        hr += hit_rate(ranked, target, K)
        nd += ndcg(ranked, target, K)
    return hr / len(targets), nd / len(targets)


def split(users: dict[str, list[dict[str, Any]]], back: int) -> tuple[dict[str, Any], list[str]]:
    """Histories without the last `back` ratings, and the rating `back` from the end."""
    histories = {u: events[:-back] for u, events in users.items() if len(events) > back}
    targets = [users[u][-back]["item_id"] for u in histories]
    return histories, targets


def blend(normal: dict[str, Matrix], w: dict[str, float]) -> Matrix:
    total = sum(w[name] * np.where(np.isfinite(m), m, 0.0) for name, m in normal.items())
    return np.where(np.isfinite(normal["popular"]), total, -np.inf).astype(np.float32)


def main() -> None:
    ids, vectors, users = load()
    grid = [
        {"popular": p, "content": c, "collaborative": k}
        for p, c, k in itertools.product(
            (0.0, 0.25, 0.5, 1.0), (0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5), (1.0,)
        )
    ]
    results: dict[str, dict[str, tuple[float, float]]] = {}
    best: dict[str, float] = grid[0]
    for name, back in (("validation", 2), ("test", 1)):
        started = time.perf_counter()
        histories, targets = split(users, back)
        raw = scores(ids, vectors, histories)
        normal = {k: minmax_rows(m) for k, m in raw.items()}
        rows = {source: evaluate(m, ids, targets) for source, m in raw.items()}
        if name == "validation":
            best = max(grid, key=lambda w: evaluate(blend(normal, w), ids, targets)[1])
        hybrid = blend(normal, best)
        rows["hybrid"] = evaluate(hybrid, ids, targets)
        results[name] = rows
        print(f"{name}: {len(targets):,} users in {time.perf_counter() - started:.1f} s")
    test_hist, test_targets = split(users, 1)
    raw = scores(ids, vectors, test_hist)
    hybrid = blend({k: minmax_rows(m) for k, m in raw.items()}, best)
    genre = genre_vectors(ids)
    print(f"\nhybrid weights picked on validation: {best}")
    print("\n## MovieLens-1M, temporal leave-last-out, all 6,040 users, @10")
    print("| source | HR@10 validation | NDCG@10 validation | HR@10 test | NDCG@10 test |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for source in ("popular", "content", "collaborative", "hybrid"):
        v, t = results["validation"][source], results["test"][source]
        print(f"| {source} | {v[0]:.4f} | {v[1]:.4f} | {t[0]:.4f} | {t[1]:.4f} |")
    print(f"\n## Diversity over the hybrid's top {CANDIDATES}, test (similarity: genres or MiniLM)")
    print("| list | NDCG@10 | change | ILD genres | change | ILD MiniLM | change |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    base: tuple[float, float, float] | None = None
    for name, pick, space, diversity in (
        ("hybrid top 10 (baseline)", mmr, genre, 0.0),
        ("MMR 0.3 on genres", mmr, genre, 0.3),
        ("MMR 0.5 on genres", mmr, genre, 0.5),
        ("DPP 0.3 on genres", dpp, genre, 0.3),
        ("DPP 0.5 on genres", dpp, genre, 0.5),
        ("MMR 0.3 on MiniLM", mmr, vectors, 0.3),
        ("DPP 0.3 on MiniLM", dpp, vectors, 0.3),
    ):
        nd = div_g = div_m = 0.0
        for u, target in enumerate(test_targets):
            top = np.argpartition(-hybrid[u], CANDIDATES)[:CANDIDATES]
            top = top[np.argsort(-hybrid[u, top])]
            cands = [ids[i] for i in top]
            picked = pick(cands, hybrid[u, top].tolist(), space[top], n=K, diversity=diversity)
            rows = [top[cands.index(p)] for p in picked]
            nd += ndcg(picked, target, K)
            div_g += intra_list_diversity(genre[rows])
            div_m += intra_list_diversity(vectors[rows])
        n = len(test_targets)
        got = (nd / n, div_g / n, div_m / n)
        base = base or got
        print(
            f"| {name} | {got[0]:.4f} | {got[0] / base[0] - 1:+.1%} | {got[1]:.4f} | "
            f"{got[1] / base[1] - 1:+.1%} | {got[2]:.4f} | {got[2] / base[2] - 1:+.1%} |"
        )


def genre_vectors(ids: list[str]) -> Matrix:
    """Unit multi-hot genre vectors, in the order of `ids`."""
    tags = {r["id"]: r["tags"] for r in movielens_items("ml-1m")}
    names = sorted({g for t in tags.values() for g in t})
    out = np.zeros((len(ids), len(names)), dtype=np.float32)
    for i, item in enumerate(ids):
        for g in tags[item]:
            out[i, names.index(g)] = 1.0
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)


if __name__ == "__main__":
    main()
