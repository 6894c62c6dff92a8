"""Group lists through `likewise.Client` against a live `likewise serve`, congruent with the
embedded Engine: the same ids, scores, members and errors (class and field)."""

from __future__ import annotations

from tests.client.test_congruence import CATALOG, EVENTS, Both, both

from likewise import Client, InvalidInput, NotFound, Recommendation
from likewise.recommend.group import GROUP_STRATEGIES

__all__ = ["both"]


def test_group_lists_answer_alike_and_are_logged_over_http(both: Both) -> None:
    both("add_items", lambda t: t.add_items(CATALOG))
    both("record_many", lambda t: t.record_many(EVENTS))
    group = ["u0", "u1", "u2"]
    for strategy in GROUP_STRATEGIES:
        rec = both(strategy, lambda t, s=strategy: t.recommend_group(group, 6, strategy=s))
        assert isinstance(rec, Recommendation) and len(rec.items) == 6
        assert rec.strategy == f"group:{strategy}" and rec.users == tuple(group)
        assert all(r.members and set(r.members) <= set(group) for r in rec.items)
        assert all(r.reason == "for " + ", ".join(r.members) for r in rec.items)
    news = {"category": "news"}
    rec = both("where", lambda t: t.recommend_group(["u3", "u4"], 4, where=news))
    shown = both("get_many", lambda t: t.get_many([r.id for r in rec.items]))
    assert rec.items and {i.metadata["category"] for i in shown} == {"news"}
    # Bad input: the same class and field on both sides.
    for name, call, kind, field in [
        ("one member", lambda t: t.recommend_group(["u1"]), InvalidInput, "users"),
        ("unknown", lambda t: t.recommend_group(["u1", "ghost"]), NotFound, "users[1]"),
        ("blank", lambda t: t.recommend_group(["u1", ""]), InvalidInput, "users[1]"),
        ("twice", lambda t: t.recommend_group(["u1", "u1"]), InvalidInput, "users[1]"),
        ("strategy", lambda t: t.recommend_group(group, strategy="x"), InvalidInput, "strategy"),
        ("n", lambda t: t.recommend_group(group, 0), InvalidInput, "n"),
    ]:
        found = both(name, call)
        assert type(found) is kind and getattr(found, "field", None) == field, name
    # The server logs every list: the client refuses track=False rather than drop it.
    client: Client = both.client
    try:
        client.recommend_group(["u1", "u2"], track=False)
    except InvalidInput as exc:
        assert exc.field == "track"
    else:
        raise AssertionError("track=False was not refused")
    rec = client.recommend_group(["u1", "u2"], 3, strategy="fair")
    client.record("u2", rec.items[0].id, "click", recommendation_id=rec.id)
    rows = {r.group: r for r in client.ctr_report()}
    # Two fair lists were served over HTTP (the loop's and this one); one led to the click.
    assert (rows["group:fair"].impressions, rows["group:fair"].clicks) == (2, 1)
