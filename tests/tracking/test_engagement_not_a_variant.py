"""A group's lists (strategy `group:STRATEGY`) are not experiment variants: the engagement
report by variant leaves them out, as it leaves out every list no experiment served."""

from __future__ import annotations

from likewise import Engine


def test_a_groups_lists_are_not_counted_as_a_variant(engine: Engine) -> None:
    engine.add_items([{"id": f"i{k}", "title": f"rocket moon {k}"} for k in range(20)])
    for user, item in (("u1", "i1"), ("u2", "i2")):
        engine.record(user, item, "like")
    engine.recommend_group(["u1", "u2"], n=3, strategy="average")
    engine.create_experiment("exp", ["a:strategy=ema", "b:strategy=mean"])
    engine.recommend("u1", n=3)
    by_strategy = {r.group for r in engine.engagement_report()}
    assert "group:average" in by_strategy
    by_variant = {r.group for r in engine.engagement_report(group_by="variant")}
    assert by_variant and all(g.startswith("exp:") for g in by_variant), by_variant
