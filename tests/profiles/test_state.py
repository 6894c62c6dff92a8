"""`ProfileState` copies and `apply` leaves the state it was given as it was."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from likewise.profiles import ProfileConfig, ProfileState, Step, apply, normalize


def _full() -> ProfileState:
    a = normalize([1, 0, 0])
    b = normalize([0, 1, 0])
    c = normalize([0, 0, 1])
    return ProfileState("u1", a, b, c, ["x", "y"], 5, 4, 1, 2, 10.0, 11.0, space="behaviour")


def test_copy_keeps_every_field_and_owns_its_recent_list() -> None:
    state = _full()
    copied = state.copy()
    for f in fields(ProfileState):
        assert getattr(copied, f.name) is getattr(state, f.name) or f.name == "recent"
    assert copied.recent == state.recent and copied.recent is not state.recent
    copied.recent.append("z")
    assert state.recent == ["x", "y"]


def test_apply_leaves_the_given_state_alone() -> None:
    state = _full()
    before = (list(state.recent), state.events, state.positives, state.interest.copy())  # type: ignore[union-attr]
    item = normalize([1, 1, 0])
    assert item is not None
    steps = [Step("x", item, 1.0, 12.0), Step("z", item, 1.0, 13.0), Step("y", item, -1.0, 14.0)]
    new, _ = apply(state, steps, ProfileConfig())
    assert new.recent == ["y", "x", "z"] and new.events == 8
    assert (state.recent, state.events, state.positives) == tuple(before[:3])
    assert np.array_equal(state.interest, before[3])  # type: ignore[arg-type]


def test_an_owned_state_is_changed_in_place_into_the_same_profile() -> None:
    from likewise.profiles.batch import apply_many

    item = normalize([1, 1, 0])
    assert item is not None
    steps = [Step("x", item, 1.0, 12.0), Step("z", item, 1.0, 13.0), Step("y", item, -1.0, 14.0)]
    expected, taken = apply(_full(), steps, ProfileConfig())
    for run in (apply, lambda s, st, c, owned: apply_many([(s, st)], c, owned=owned)[0]):
        mine = _full()
        new, snaps = run(mine, steps, ProfileConfig(), owned=True)  # type: ignore[operator]
        assert new is mine  # no copy
        assert (new.recent, new.events, new.negatives) == (expected.recent, 8, expected.negatives)
        assert np.array_equal(new.interest, expected.interest)  # type: ignore[arg-type]
        assert [s.at for s in snaps] == [s.at for s in taken]
    two = [(_full(), steps), (_full(), steps[:1])]
    mine = [state for state, _ in two]
    got = [s for s, _ in apply_many(two, ProfileConfig(), owned=True)]
    assert all(a is b for a, b in zip(got, mine, strict=True))
