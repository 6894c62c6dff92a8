"""Wilson intervals and the background impression log."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from likewise import Engine
from likewise.errors import InvalidInput
from likewise.tracking import Impression, ImpressionLog, RateRow, wilson


@given(trials=st.integers(1, 10_000), data=st.data())
def test_wilson_is_a_proper_interval_around_the_rate(trials: int, data: st.DataObject) -> None:
    successes = data.draw(st.integers(0, trials))
    low, high = wilson(successes, trials)
    assert 0.0 <= low <= successes / trials <= high <= 1.0


def test_wilson_known_values() -> None:
    assert wilson(0, 0) == (0.0, 1.0)
    low, high = wilson(3, 4)
    assert low == pytest.approx(0.3006, abs=1e-4) and high == pytest.approx(0.9544, abs=1e-4)
    assert wilson(50, 100) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    with pytest.raises(ValueError):
        wilson(5, 4)


def test_rate_row_reports_rates_and_intervals() -> None:
    row = RateRow("ema", impressions=4, clicks=3, conversions=0, mean_dwell=None).as_dict()
    assert row["ctr"] == 0.75 and row["conversion_rate"] == 0.0
    assert row["ctr_ci95"] == list(wilson(3, 4))


def test_impressions_are_written_in_the_background_and_on_flush() -> None:
    written: list[list[str]] = []
    done = threading.Event()

    def write(batch: list[Impression]) -> None:
        written.append([i.id for i in batch])
        done.set()

    log = ImpressionLog(write, interval=0.05, batch=1000)
    log.add(Impression("r1", "u1", "ema", ["a"]))
    assert done.wait(5), "the background thread did not write"
    log.add(Impression("r2", "u1", "ema", ["b"]))
    log.flush()
    log.close()
    assert [i for batch in written for i in batch] == ["r1", "r2"]
    with pytest.raises(RuntimeError):
        log.add(Impression("r3", "u1", "ema", []))


def test_a_list_of_ones_own_is_tracked_and_checked(engine: Engine) -> None:
    engine.add_items([{"id": "a", "title": "Apples"}, {"id": "b", "title": "Bananas"}])
    rid = engine.track("u1", "editorial", ["a", "b"], ms=1.5)
    engine.record("u1", "a", "click", recommendation_id=rid)
    rows = {r.group: r for r in engine.ctr_report()}
    assert (rows["editorial"].impressions, rows["editorial"].clicks) == (1, 1)
    assert engine.activity_report()["latency_ms"]["by_strategy"]["editorial"]["p50"] == 1.5
    for bad, field in (
        (("", "editorial", ["a"]), "user_id"),
        (("u1", "Not A Name", ["a"]), "strategy"),
        (("u1", "editorial", "ab"), "items"),
        (("u1", "editorial", [1]), "items"),
    ):
        with pytest.raises(InvalidInput) as info:
            engine.track(*bad)  # type: ignore[arg-type]
        assert info.value.field == field
    assert len(engine.ctr_report()) == 1  # nothing more was logged
