"""The offline evaluation of group lists (`likewise.evaluation.groups`), run end to end on a
slice of MovieLens-100k with the hashing embedder, and its group building checked on
hand-made taste vectors."""

from __future__ import annotations

import itertools

import numpy as np

from likewise.evaluation.groups import GroupRequest, build_groups, run_groups, table
from likewise.recommend.group import GROUP_STRATEGIES


def test_groups_hold_to_their_thresholds() -> None:
    rng = np.random.default_rng(1)
    tastes = rng.normal(size=(60, 8)).astype(np.float32)
    tastes /= np.linalg.norm(tastes, axis=1, keepdims=True)
    request = GroupRequest(groups=15, sizes=(2, 3, 4))
    for kind, threshold in (("similar", 0.3), ("dissimilar", -0.1)):
        groups = build_groups(tastes, kind, threshold, request, rng)
        assert 0 < len(groups) <= 15
        assert len({tuple(sorted(g)) for g in groups}) == len(groups)  # no group twice
        for g in groups:
            assert len(g) in (2, 3, 4) and len(set(g)) == len(g)
            for a, b in itertools.combinations(g, 2):
                cosine = float(tastes[a] @ tastes[b])
                assert cosine >= threshold if kind == "similar" else cosine <= threshold


def test_the_evaluation_runs_on_a_slice_of_movielens_100k() -> None:
    request = GroupRequest(dataset="ml-100k", groups=8, users=120, model="hashing-64")
    evaluation = run_groups(request)
    rows = {(r.space, r.kind, r.strategy): r for r in evaluation.results}
    assert set(rows) == {
        (space, kind, strategy)
        for space in ("text",)
        for kind in ("similar", "dissimilar")
        for strategy in (*GROUP_STRATEGIES, "individual")
    }
    for r in evaluation.results:
        assert 0 < r.groups <= 8
        # Any member's hit is at least the mean member's, which is at least the worst one's.
        assert 0.0 <= r.worst_hr <= r.member_hr <= r.group_hr <= 1.0
        assert 0.0 <= r.blocked <= 1.0
    # Members who are alike have seen each other's held-out items more often.
    blocked = {kind: rows[("text", kind, "average")].blocked for kind in ("similar", "dissimilar")}
    assert blocked["similar"] > blocked["dissimilar"]
    assert evaluation.thresholds["similar"] > evaluation.thresholds["dissimilar"]
    assert evaluation.cohesion["similar"] > evaluation.cohesion["dissimilar"]
    text = table(evaluation, request)
    assert "| text | similar | least_misery |" in text and "individual (baseline)" in text
    assert "group HR@10" in text and "worst-member HR@10" in text
