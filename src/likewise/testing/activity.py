"""The events-and-profiles half of the store contract (mixed into `StoreContract`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from likewise.events.model import Event
from likewise.profiles.state import ProfileState, Snapshot
from likewise.store.base import Store
from likewise.testing.values import axis, entry
from likewise.tracking.impressions import Impression

__all__ = ["ActivityContract"]

Opener = Callable[[], Store]
Todo = Sequence[tuple[Event, float]]


def event(user: str, item: str, type: str = "click", **fields: Any) -> Event:
    return Event.model_validate({"user_id": user, "item_id": item, "type": type, **fields})


def counting(state: ProfileState, todo: Todo) -> tuple[ProfileState, list[Snapshot]]:
    """A stand-in update: counts events, remembers items, snapshots every second event."""
    snaps = []
    for ev, signal in todo:
        state.events += 1
        state.recent = [*state.recent, ev.item_id]
        state.positives += signal > 0
        vec = np.full(4, float(state.events), dtype=np.float32)
        state.interest = vec
        if state.events % 2 == 0:
            snaps.append(Snapshot(ev.timestamp, vec))
    return state, snaps


class ActivityContract:
    """Events, profiles, snapshots and popularity: what every store must keep and return."""

    def _items(self, store: Store, ids: Sequence[str], **fields: Any) -> None:
        store.upsert([entry(i, axis(k), **fields) for k, i in enumerate(ids)])

    def test_record_updates_profiles_and_dedupes(self, store: Store) -> None:
        self._items(store, ["a", "b"])
        seen: list[tuple[str, list[str]]] = []

        def update(state: ProfileState, todo: Todo) -> tuple[ProfileState, list[Snapshot]]:
            seen.append((state.user_id, [e.item_id for e, _ in todo]))
            return counting(state, todo)

        batch = [event("u1", "a", event_id="e1"), event("u2", "b"), event("u1", "b")]
        assert store.record(batch, [1.0, 1.0, -1.0], update) == [True, True, True]
        assert sorted(seen) == [("u1", ["a", "b"]), ("u2", ["b"])]
        again = store.record([event("u1", "b", event_id="e1")], [1.0], update)
        assert again == [False]
        state = store.profile("u1")
        assert state is not None
        assert (state.events, state.positives, state.recent) == (2, 1, ["a", "b"])
        assert state.interest is not None
        assert np.array_equal(state.interest, np.full(4, 2.0, dtype=np.float32))
        assert store.profile("nobody") is None
        assert sorted(store.seen("u1")) == ["a", "b"]
        profile, items, mark = store.user("u1")
        assert profile is not None and (profile.events, profile.recent) == (2, ["a", "b"])
        assert sorted(items) == ["a", "b"]
        assert mark == store.forget_mark() == 0
        assert store.user("nobody") == (None, [], 0)

    def test_a_failing_update_stores_nothing(self, store: Store) -> None:
        self._items(store, ["a"])

        def broken(state: ProfileState, todo: Todo) -> tuple[ProfileState, list[Snapshot]]:
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            store.record([event("u1", "a", event_id="e1")], [1.0], broken)
        assert store.profile("u1") is None
        assert store.seen("u1") == []
        assert store.record([event("u1", "a", event_id="e1")], [1.0], counting) == [True]

    def test_update_blob_changes_what_is_stored_and_a_failing_change_nothing(
        self, store: Store
    ) -> None:
        assert store.update_blob("registry", lambda old: (old or b"") + b"a") == b"a"
        assert store.update_blob("registry", lambda old: (old or b"") + b"b") == b"ab"

        def broken(old: bytes | None) -> bytes:
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            store.update_blob("registry", broken)
        assert store.get_blob("registry") == b"ab"

    def test_snapshots_are_kept_in_order(self, store: Store) -> None:
        self._items(store, ["a"])
        batch = [event("u1", "a", timestamp=t) for t in range(1, 8)]
        store.record(batch, [1.0] * 7, counting)
        snaps = store.snapshots("u1", 2)
        assert [s.at for s in snaps] == [4.0, 6.0]
        assert [float(s.vector[0]) for s in store.snapshots("u1", 10)] == [2.0, 4.0, 6.0]

    def test_put_profiles_replaces_history_of_those_users(self, store: Store) -> None:
        self._items(store, ["a"])
        store.record([event(u, "a") for u in ("u1", "u1", "u2", "u2")], [1.0] * 4, counting)
        fresh = ProfileState("u1", interest=np.ones(4, dtype=np.float32), events=9)
        store.put_profiles([(fresh, [Snapshot(5.0, np.ones(4, dtype=np.float32))])], replace=True)
        state = store.profile("u1")
        assert state is not None and state.events == 9
        assert [s.at for s in store.snapshots("u1", 10)] == [5.0]
        assert len(store.snapshots("u2", 10)) == 1

    def test_the_log_replays_in_order(self, store: Store) -> None:
        self._items(store, ["a", "b"])
        batch = [
            event("u1", "a", value=3.5, context={"device": "tv"}, recommendation_id="0" * 32),
            event("u2", "b", "view"),
            event("u1", "b", "skip"),
        ]
        store.record(batch, [1.0, 0.5, -0.5], counting)
        got = [pair for page in store.events(batch=2) for pair in page]
        assert [(e.user_id, e.item_id, s) for e, s in got] == [
            ("u1", "a", 1.0),
            ("u2", "b", 0.5),
            ("u1", "b", -0.5),
        ]
        assert got[0][0] == batch[0]

    def test_popular_ranks_positive_signal_and_respects_filters(self, store: Store) -> None:
        self._items(store, ["a", "b", "c", "d"], category="x")
        self._items(store, ["e"], category="y")
        plays = [("a", 1.0), ("b", 1.0), ("b", 0.5), ("c", -1.0), ("e", 1.0), ("e", 1.0)]
        store.record([event("u", i) for i, _ in plays], [s for _, s in plays], counting)
        assert [h.id for h in store.popular(n=2)] == ["e", "b"]
        assert [h.score for h in store.popular(n=2)] == [2.0, 1.5]
        got = store.popular(n=4, where={"category": "x"}, exclude=["b"])
        assert [h.id for h in got][:1] == ["a"]
        assert {h.id for h in got} == {"a", "c", "d"}  # no signal yet: the newest fill in
        store.delete(["e"])
        assert store.popular(n=1)[0].id == "b"

    def test_a_forget_takes_away_the_share_counted_whenever_its_events_came(
        self, store: Store
    ) -> None:
        """Popularity counts events in folds (before a read of it): a user forgotten with
        events counted and events not counted yet leaves exactly the others' share."""
        self._items(store, ["a", "b"])
        store.record([event("u1", "a"), event("u3", "a"), event("u3", "a")], [1.0] * 3, counting)
        assert [(h.id, h.score) for h in store.popular(n=1)] == [("a", 3.0)]  # counted
        store.record([event("u1", "a"), event("u2", "a"), event("u2", "b")], [2.0] * 3, counting)
        store.forget_user("u1")
        assert [(h.id, h.score) for h in store.popular(n=2)] == [("a", 4.0), ("b", 2.0)]

    def test_newest_lists_the_last_written_alone(self, store: Store) -> None:
        self._items(store, ["a", "b"], category="x")
        self._items(store, ["c"], category="y")
        store.record([event("u", "a")], [1.0], counting)
        assert [h.id for h in store.popular(n=2, newest=True)] == ["c", "b"]
        got = store.popular(n=3, newest=True, where={"category": "x"}, exclude=["b"])
        assert [(h.id, h.score) for h in got] == [("a", 0.0)]
        self._items(store, ["a"], category="x")  # written again: the newest now
        assert store.popular(n=1, newest=True)[0].id == "a"

    def test_item_ids_page_in_string_order(self, store: Store) -> None:
        ids = ["b", "a", "B", "é", "a1", "z"]
        self._items(store, ids)
        assert store.item_ids(limit=10) == sorted(ids)
        assert store.item_ids(after="a", limit=2) == ["a1", "b"]
        assert store.item_ids(after="z", limit=5) == ["é"]
        assert store.item_ids(after="é", limit=5) == []

    def test_a_users_events_page_newest_first(self, store: Store) -> None:
        self._items(store, ["a", "b", "c"])
        mine = [event("u1", i, event_id=f"e{i}") for i in ("a", "b", "c")]
        store.record([mine[0], event("u2", "a"), *mine[1:]], [1.0] * 4, counting)
        first = store.user_events("u1", limit=2)
        assert [e for _, e in first] == [mine[2], mine[1]]
        rest = store.user_events("u1", limit=2, before=first[-1][0])
        assert [e for _, e in rest] == [mine[0]]
        assert store.user_events("nobody", limit=5) == []
        from likewise.tracking import Impression

        store.log_impressions([Impression("r1", "u1", "ema", ["a"])])
        deleted = store.forget_user("u1", keep_impressions=True)
        assert deleted["events"] == 3 and "impressions" not in deleted
        assert store.user_events("u1", limit=5) == [] and store.profile("u1") is None
        assert store.shown("u1") == {"a": 1}
        assert [h.id for h in store.popular(n=1)] == ["a"]  # u2's like is kept

    def test_a_forgotten_users_earlier_impressions_are_not_logged_after(self, store: Store) -> None:
        """A list begun before the forget (at an older mark) may still be in another
        process's queue, or still be computed: it is dropped; one begun after is kept. The
        mark moves with every forget and only then, so every cache drops its lists."""
        from likewise.tracking import Impression

        before = store.forget_mark()
        store.log_impressions([Impression("r0", "u1", "ema", ["a"], mark=before)])
        assert store.forget_user("u1")["impressions"] == 1
        after = store.forget_mark()
        assert after > before
        store.forget_user("u2", keep_impressions=True)  # deleting events is not forgetting
        assert store.forget_mark() == after
        store.log_impressions(
            [
                Impression("r1", "u1", "ema", ["a"], mark=before),
                Impression("r2", "u2", "ema", ["b"], mark=before),
                Impression("r3", "u1", "ema", ["c"], mark=after),
                Impression("r4", "u1", "ema", ["d"]),  # no mark: kept whatever was forgotten
            ]
        )
        assert store.shown("u1") == {"c": 1, "d": 1} and store.shown("u2") == {"b": 1}
        store.forget_user("u1")
        assert store.forget_mark() == after + 1 and store.shown("u1") == {}

    def test_trending_weighs_recent_events_more(self, store: Store) -> None:
        self._items(store, ["old", "new", "none"])
        day = 86_400.0
        now = time.time()
        plays = [event("u", "old", timestamp=now - 30 * day) for _ in range(3)]
        plays.append(event("u", "new", timestamp=now - day))
        store.record(plays, [1.0] * 4, counting)
        assert [h.id for h in store.popular(n=2)] == ["old", "new"]
        trending = store.popular(n=3, trending=True)
        assert [h.id for h in trending] == ["new", "old", "none"]
        assert trending[0].score == pytest.approx(2 ** (-1 / 7), rel=1e-3)
        assert trending[1].score == pytest.approx(3 * 2 ** (-30 / 7), rel=1e-3)
        store.forget_user("u")
        assert store.popular(n=1, trending=True)[0].score == 0.0
        store.record([event("v", "none", timestamp=now + 3_000 * day)], [1.0], counting)
        assert store.popular(n=1, trending=True)[0].score == pytest.approx(1.0, rel=1e-3)

    def test_activity_counts_events_latency_and_items_shown(self, store: Store) -> None:
        from likewise.tracking import Impression

        self._items(store, ["a", "b", "c"])
        day1, day2 = 1_700_000_000.0, 1_700_000_000.0 + 86_400
        batch = [
            event("u1", "a", timestamp=day1),
            event("u1", "b", "like", timestamp=day1),
            event("u2", "a", timestamp=day1 + 1),
            event("u2", "c", timestamp=day2),
        ]
        store.record(batch, [1.0] * 4, counting)
        store.log_impressions(
            [
                Impression("r1", "u1", "ema", ["a", "b"], at=day1, ms=2.0),
                Impression("r2", "u2", "ema", ["b"], at=day2, ms=4.0),
                Impression("r3", "u2", "x:a", ["a"], at=day2, ms=9.0),
                Impression("r4", "u3", "popular", ["a"], at=day2),  # an older list: no timing
            ]
        )
        got = store.activity(0.0)
        assert got.events == [
            ("2023-11-14", "click", 2),
            ("2023-11-14", "like", 1),
            ("2023-11-15", "click", 1),
        ]
        latency = {name: sorted(values) for name, values in got.latency_ms.items()}
        assert latency == {"ema": [2.0, 4.0], "x:a": [9.0]}
        assert got.items_shown == 2
        later = store.activity(day2)
        assert later.events == [("2023-11-15", "click", 1)] and later.items_shown == 2
        assert store.activity(day2 + 1).items_shown == 0

    def test_a_digest_reads_pages_of_users_and_searches_many_vectors(self, store: Store) -> None:
        self._items(store, ["a", "b", "c"])
        events = [event("u2", "a"), event("u1", "b"), event("u3", "c"), event("u1", "a")]
        store.record(events, [1.0] * 4, counting)
        assert store.digest_user_count() == 3
        assert store.digest_users(limit=2) == ["u1", "u2"]
        assert store.digest_users(after="u2", limit=2) == ["u3"]
        sent = [Impression("r1", "u1", "digest", ["c"]), Impression("r2", "u1", "related", ["a"])]
        store.log_impressions([*sent, Impression("r3", "u2", "digest", ["b", "c"])])
        reads = store.digest_reads(["u1", "u2", "nobody"])
        u1 = reads["u1"]
        assert u1.state is not None and u1.state.recent == ["b", "a"]
        assert sorted(u1.seen) == ["a", "b"] and u1.sent == {"c"}  # a digest's items only
        assert reads["u2"].sent == {"b", "c"} and reads["nobody"] == (None, [], set())
        assert store.digest_reads(["u2"], sent=False)["u2"].sent == set()
        queries, skips = [axis(0, 0.3), axis(1, 0.2), axis(2)], [["a"], [], ["a", "b", "c"]]
        many = store.search_many(queries, n=2, excludes=skips)
        one = [store.search(q, n=2, exclude=s) for q, s in zip(queries, skips, strict=True)]
        assert many == [[(h.id, h.score) for h in hits] for hits in one]
        assert [[i for i, _ in row] for row in many] == [["b", "c"], ["b", "c"], []]

    def test_profiles_survive_reopening(self, open_store: Opener, store: Store) -> None:
        self._items(store, ["a"])
        store.record([event("u1", "a", event_id="e1")], [1.0], counting)
        store.close()
        again = open_store()
        try:
            state = again.profile("u1")
            assert state is not None and state.events == 1
            assert again.record([event("u1", "a", event_id="e1")], [1.0], counting) == [False]
        finally:
            again.close()
